"""A throw-away PostgreSQL server for the test suite: real binaries, a temp folder, a free port.

PostgreSQL refuses to run as root, so under root the server runs as the ``postgres`` system user
(the Debian package creates it) with a data folder that user owns. fsync is off: the data is
discarded at the end, and it makes CREATE DATABASE from the template several times faster.
"""

from __future__ import annotations

import atexit
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


def find_pg_bin() -> Path:
    """The newest installed PostgreSQL's bin folder (``/usr/lib/postgresql/<major>/bin``)."""
    override = os.environ.get("KETACLINIC_TEST_PG_BIN")
    if override:
        return Path(override)
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    if candidates:
        return Path(candidates[-1]).parent
    on_path = shutil.which("pg_ctl")
    if on_path:
        return Path(on_path).parent
    raise RuntimeError(
        "PostgreSQL server binaries not found: run `bash scripts/bootstrap.sh --test` "
        "(installs the Debian postgresql package)"
    )


# Containers often mount a tiny /dev/shm (Docker's default is 64 MB): use it only when roomy.
_MIN_FAST_TEMP_BYTES = 2 * 1024**3


def fast_temp_dir() -> str | None:
    """A memory-backed folder when the machine has a roomy one, else None (the default temp).

    Creating and dropping a database is mostly creating and removing files, and SQLite commits
    wait for the disk: measured here, a fresh PostgreSQL database from the template took about
    0.6 s on the ext4 disk and 0.04 s on tmpfs.
    """
    shm = Path("/dev/shm")
    try:
        roomy = shutil.disk_usage(shm).free >= _MIN_FAST_TEMP_BYTES
    except OSError:
        return None
    return str(shm) if roomy and os.access(shm, os.W_OK) else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class PostgresServer:
    root: Path
    port: int
    user: str
    run_as: str | None
    bin_dir: Path

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> None:
        command = list(args)
        if self.run_as:
            command = ["runuser", "-u", self.run_as, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(
                f"{' '.join(command)} failed ({result.returncode}):\n"
                f"{result.stdout}\n{result.stderr}\n{tail}"
            )

    def init(self) -> None:
        self._run(
            str(self.bin_dir / "initdb"),
            "-D",
            str(self.data_dir),
            "-U",
            self.user,
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        )

    def start(self) -> None:
        options = " ".join(
            [
                f"-p {self.port}",
                "-c listen_addresses=127.0.0.1",
                f"-c unix_socket_directories={self.root}",
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
                "-c max_connections=60",
                "-c shared_buffers=32MB",
            ]
        )
        self._run(
            str(self.bin_dir / "pg_ctl"),
            "-D",
            str(self.data_dir),
            "-l",
            str(self.root / "server.log"),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        )

    def stop(self) -> None:
        try:
            if (self.data_dir / "postmaster.pid").exists():
                self._run(
                    str(self.bin_dir / "pg_ctl"),
                    "-D",
                    str(self.data_dir),
                    "-m",
                    "immediate",
                    "stop",
                )
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def start_postgres() -> PostgresServer:
    """Start a private server; the caller must ``stop()`` it (which also deletes its files)."""
    bin_dir = find_pg_bin()
    root = Path(tempfile.mkdtemp(prefix="ketaclinic-pg-", dir=fast_temp_dir()))
    run_as: str | None = None
    if os.geteuid() == 0:
        run_as = "postgres"
        shutil.chown(root, user=run_as, group=None)
    server = PostgresServer(
        root=root, port=_free_port(), user="postgres", run_as=run_as, bin_dir=bin_dir
    )
    try:
        server.init()
        for attempt in range(3):
            try:
                server.start()
                # Backstop for an interrupted run: the session fixture normally stops it first.
                atexit.register(server.stop)
                return server
            except RuntimeError:
                # Another process may have taken the port between choosing and binding it.
                if attempt == 2:
                    raise
                server.port = _free_port()
    except Exception:
        shutil.rmtree(root, ignore_errors=True)
        raise
    raise AssertionError("unreachable")
