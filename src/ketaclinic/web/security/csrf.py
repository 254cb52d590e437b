"""CSRF tokens bound to the browser: HMAC of the session (or pre-sign-in) cookie with the secret.

A forged cross-site form cannot read the token, so every state-changing request made with the
browser's cookies must carry it, in the ``csrf_token`` form field or the ``X-CSRF-Token`` header.
"""

from __future__ import annotations

import hashlib
import hmac


def csrf_token(secret_key: str, binding: str) -> str:
    return hmac.new(secret_key.encode(), f"csrf:{binding}".encode(), hashlib.sha256).hexdigest()


def csrf_valid(secret_key: str, binding: str, presented: str | None) -> bool:
    if not presented or not binding:
        return False
    return hmac.compare_digest(csrf_token(secret_key, binding), presented)
