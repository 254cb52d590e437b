"""Supervised sessions (pure): lifecycle, pre-dose checks, checkpoints, alerts, MAR, discharge.

Services call ``record`` functions (each returns a new SessionRecord) with the effective clinic
policy from ``ketaclinic.clinical.policy``; nothing here reads the clock or touches storage.
"""
