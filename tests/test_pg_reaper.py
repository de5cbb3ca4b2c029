"""zviz_testing/pg.py stops the PostgreSQL servers that killed test runs leave running, and
removes their folders, but never a server whose owner still runs."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from zviz_testing import pg

ROOT = Path(__file__).resolve().parents[1]


def _bindir() -> Path:
    bindir = pg.find_bindir()
    if bindir is None:
        if os.environ.get(pg.REQUIRE_ENV) == "1":
            pytest.fail(f"PostgreSQL is required here ({pg.REQUIRE_ENV}=1)")
        pytest.skip("PostgreSQL's server binaries are not installed")
    return bindir


def test_a_killed_owners_server_is_stopped_and_removed_and_a_live_ones_is_kept() -> None:
    bindir = _bindir()
    kept = pg.start_server()  # owned by this live process
    try:
        owner = subprocess.Popen(
            [
                sys.executable,
                "-c",
                textwrap.dedent(
                    """
                    import time
                    from zviz_testing import pg
                    server = pg.start_server()
                    print(server.datadir.parent, server.port, flush=True)
                    time.sleep(600)
                    """
                ),
            ],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.PIPE,
            text=True,
        )
        assert owner.stdout is not None
        folder, port = owner.stdout.readline().split()
        orphan = Path(folder)
        owner.kill()
        owner.wait(timeout=30)
        assert (orphan / "data" / "postmaster.pid").exists(), "the server outlives its owner"

        assert orphan in pg.reap_orphans(bindir)
        assert not orphan.exists()
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", int(port)), timeout=5).close()
        assert (kept.datadir / "postmaster.pid").exists()
        socket.create_connection(("127.0.0.1", kept.port), timeout=5).close()
    finally:
        pg.reap_orphans(bindir)
        kept.destroy()
