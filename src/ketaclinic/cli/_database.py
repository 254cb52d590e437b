"""Opening the configured database for a command, with a clear message when it is not migrated."""

from __future__ import annotations

from sqlalchemy.engine import make_url

from ketaclinic.errors import ConfigurationError
from ketaclinic.settings import Settings
from ketaclinic.storage.database import SessionFactory, make_engine, make_session_factory
from ketaclinic.storage.migrate import current_revision, head_revision


def migrated_session_factory() -> SessionFactory:
    """A session factory on the configured database; refuses one not at the current schema."""
    # Read the environment afresh (not the cached settings), so scripts that set it are obeyed.
    url = Settings().resolved_database_url()
    if current_revision(url) != head_revision():
        shown = make_url(url).render_as_string(hide_password=True)
        raise ConfigurationError(
            f"The database {shown} is not at the current schema. Run `ketaclinic db upgrade` "
            "first (it is safe to run again)."
        )
    return make_session_factory(make_engine(url))
