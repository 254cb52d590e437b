"""Server-side sessions: the cookie carries a random token, the database its hash and last use.

Kept on the server so that signing out, an idle time-out or deactivating an account ends the
session at once, which a self-contained signed cookie cannot do.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from ketaclinic.errors import InvalidInput
from ketaclinic.storage.tables.access import SignInAttempt, User, WebSession

# Write last_seen_at at most this often, so a page with many requests is not many writes;
# far below any sensible idle time-out.
_TOUCH_INTERVAL = timedelta(seconds=30)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start_session(
    db: Session, user: User, *, ip_address: str | None, user_agent: str | None, now: datetime
) -> str:
    """Create a session for ``user`` and return the token for its cookie."""
    token = secrets.token_urlsafe(32)
    db.add(
        WebSession(
            token_sha256=token_digest(token),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            ip_address=ip_address,
            user_agent=(user_agent or "")[:300] or None,
        )
    )
    db.flush()
    return token


def resume_session(
    db: Session, token: str, *, idle_timeout: timedelta, now: datetime, touch: bool = True
) -> tuple[WebSession, User] | None:
    """The live session and its user; None if unknown, ended, idle too long or switched off.

    ``touch=False`` looks without counting as activity (the page's own time-out countdown).
    """
    row = db.execute(
        select(WebSession, User)
        .join(User, User.id == WebSession.user_id)
        .where(WebSession.token_sha256 == token_digest(token))
    ).first()
    if row is None:
        return None
    web_session, user = row
    if web_session.ended_at is not None or not user.active:
        return None
    if now - web_session.last_seen_at > idle_timeout:
        web_session.ended_at = now
        return None
    if touch and now - web_session.last_seen_at > _TOUCH_INTERVAL:
        web_session.last_seen_at = now
    return web_session, user


def end_session(db: Session, token: str, *, now: datetime) -> None:
    db.execute(
        update(WebSession)
        .where(WebSession.token_sha256 == token_digest(token), WebSession.ended_at.is_(None))
        .values(ended_at=now)
    )


def end_all_sessions(db: Session, user_id: str, *, now: datetime) -> None:
    """Sign a person out everywhere: on deactivation and on a password reset."""
    db.execute(
        update(WebSession)
        .where(WebSession.user_id == user_id, WebSession.ended_at.is_(None))
        .values(ended_at=now)
    )


def purge_stale_sign_in_records(db: Session, *, now: datetime, keep_days: int) -> tuple[int, int]:
    """Delete sign-in attempts and ended (or long idle) sessions older than ``keep_days``.

    Returns (attempts deleted, sessions deleted). The audit trail keeps its own sign-in entries,
    so nothing a reviewer needs is lost; these tables only serve throttling and live sessions.
    """
    if keep_days < 1:
        raise InvalidInput(
            f"Keep at least 1 day of sign-in records, not {keep_days}.", field="keep_days"
        )
    cutoff = now - timedelta(days=keep_days)
    attempts = db.execute(delete(SignInAttempt).where(SignInAttempt.attempted_at < cutoff))
    sessions = db.execute(delete(WebSession).where(WebSession.last_seen_at < cutoff))
    return int(attempts.rowcount), int(sessions.rowcount)  # type: ignore[attr-defined]
