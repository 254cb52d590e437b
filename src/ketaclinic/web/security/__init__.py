"""Sign-in security: password hashing, server-side sessions, CSRF tokens, throttling, time-outs."""
