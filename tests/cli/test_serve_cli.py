"""`ketaclinic serve --demo`, where the README's first command ends: starts, says how to sign in."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from ketaclinic.storage.migrate import upgrade


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_serve_demo_prints_the_address_and_a_login_per_role_then_serves(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'clinic.db'}"
    upgrade(url)
    port = _free_port()
    env = {**os.environ, "KETACLINIC_DATA_DIR": str(tmp_path), "KETACLINIC_DATABASE_URL": url}
    ketaclinic = str(Path(sys.executable).with_name("ketaclinic"))
    command = [ketaclinic, "serve", "--demo", "--port", str(port)]
    server = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stdout.read() if server.stdout else ""
                assert time.monotonic() < deadline, "the server did not start in 30 s"
                time.sleep(0.2)
        assert health.json()["status"] == "ok"
        home = httpx.get(f"http://127.0.0.1:{port}/", follow_redirects=False)
        assert home.status_code == 303
        assert home.headers["location"].startswith("/sign-in")
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=20)
    assert f"ketaclinic is serving on http://127.0.0.1:{port}/" in output
    for role in ("administrator", "prescriber", "nurse", "researcher"):
        assert f"{role}@demo.ketaclinic.example" in output
    assert "never use these with real patients" in output
