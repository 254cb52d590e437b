"""Apply and write Alembic migrations, configured from the package (no alembic.ini needed).

    python -m ketaclinic.storage.migrate upgrade [URL]
    python -m ketaclinic.storage.migrate revision -m "add treatment sessions"

``revision`` autogenerates the next numbered revision (0002, 0003, ...) chained on the current head
by comparing the table metadata (``ketaclinic.storage.tables``) with a scratch database at head.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from ketaclinic.storage.database import configured_database_url, make_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # Passed as an attribute, not an ini option, so passwords with "%" need no escaping.
    config.attributes["database_url"] = url
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def current_revision(url: str) -> str | None:
    """The revision the database at ``url`` is at, or None if it was never migrated."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def upgrade(url: str | None = None, revision: str = "head") -> str | None:
    """Apply the migrations up to ``revision``; returns the revision the database is now at."""
    target = url or configured_database_url()
    command.upgrade(alembic_config(target), revision)
    return current_revision(target)


def _next_revision_id(head: str | None) -> str:
    if head is None:
        return "0001"
    if not head.isdigit():
        raise SystemExit(f"head revision {head!r} is not numbered; give --rev-id")
    return f"{int(head) + 1:04d}"


def autogenerate_revision(message: str, rev_id: str | None = None) -> Path:
    """Write the next revision file from the difference between the tables and the migrations."""
    head = head_revision()
    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite:///{Path(scratch) / 'scratch.db'}"
        config = alembic_config(url)
        command.upgrade(config, "head")
        script = command.revision(
            config, message=message, autogenerate=True, rev_id=rev_id or _next_revision_id(head)
        )
    assert script is not None
    assert not isinstance(script, list)
    path = Path(script.path)
    _tidy(path)
    return path


def _tidy(path: Path) -> None:
    """Format a generated revision so it passes the project's ruff checks without hand edits."""
    ruff = Path(sys.executable).with_name("ruff")
    executable = str(ruff) if ruff.exists() else shutil.which("ruff")
    if executable is None:
        return
    subprocess.run([executable, "format", "--quiet", str(path)], check=False)
    subprocess.run([executable, "check", "--fix", "--quiet", str(path)], check=False)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ketaclinic.storage.migrate")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("upgrade", help="apply the migrations to URL (default: the configured one)")
    up.add_argument("url", nargs="?")
    rev = sub.add_parser("revision", help="autogenerate the next revision from the table metadata")
    rev.add_argument("-m", "--message", required=True)
    rev.add_argument("--rev-id", default=None)
    args = parser.parse_args(argv)
    if args.command == "upgrade":
        print(f"database at revision {upgrade(args.url)}")
    else:
        path = autogenerate_revision(args.message, args.rev_id)
        print(f"wrote {path}; review it (SQLite batch mode is on) before committing")


if __name__ == "__main__":
    main()
