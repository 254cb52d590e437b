"""Printable documents (PDF): the REMS Patient Monitoring Form, the session record, and a shared
helper for simple titled documents of labelled fields. Pure functions from values to bytes."""
