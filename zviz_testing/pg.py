"""A real PostgreSQL server for the tests: initdb into a temporary folder, pg_ctl on 127.0.0.1,
one fresh database per test, stopped at the end of the session.

Where the server binaries are missing the PostgreSQL cases skip with the reason, unless
ZVIZ_REQUIRE_POSTGRES=1 (CI), which turns the skip into a failure.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from zviz_core.store.util import pid_alive

REQUIRE_ENV = "ZVIZ_REQUIRE_POSTGRES"
PREFIX = "zviz-pg-"
# Who started a server: "<pid> <host>", in its folder beside the data folder.
OWNER_FILE = "owner"
# A folder without an owner file (from before it was written) and without a running server is
# left alone for this long: its server may still be starting.
UNOWNED_GRACE_S = 3600


def find_bindir() -> Path | None:
    """The folder holding initdb and pg_ctl, or None."""
    for name in ("initdb", "pg_ctl"):
        found = shutil.which(name)
        if found:
            return Path(os.path.realpath(found)).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    return Path(versions[0]).parent if versions else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class PgServer:
    """A running throwaway server; `url(db)` names one of its databases."""

    bindir: Path
    datadir: Path
    port: int
    run_as: str | None
    # Tests trade durability for speed; a benchmark of write costs must not (durable=True).
    durable: bool = False

    def _cmd(self, *args: str) -> list[str]:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        return ["runuser", "-u", self.run_as, "--", *cmd] if self.run_as else cmd

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://zviz@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        subprocess.run(
            self._cmd(
                "pg_ctl",
                "-D",
                str(self.datadir),
                "-l",
                str(self.datadir / "server.log"),
                "-w",
                "-t",
                "60",
                "-o",
                f"-p {self.port} -k {self.datadir} -c listen_addresses=127.0.0.1 "
                + (
                    ""
                    if self.durable
                    else "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                )
                + "-c max_connections=300",
                "start",
            ),
            check=True,
            capture_output=True,
        )

    def destroy(self) -> None:
        """Stop the server for good and remove its data folder."""
        self.stop("immediate")
        shutil.rmtree(self.datadir.parent, ignore_errors=True)

    def stop(self, mode: str = "fast") -> None:
        subprocess.run(
            self._cmd("pg_ctl", "-D", str(self.datadir), "-m", mode, "-w", "stop"),
            check=False,
            capture_output=True,
        )

    def create_database(self, template: str | None = None) -> str:
        """A new empty database (or a copy of `template`); returns its URL."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as con:
            clause = f" TEMPLATE {template}" if template else ""
            con.execute(f"CREATE DATABASE {name}{clause}")
        return self.url(name)

    def drop_database(self, url: str) -> None:
        import psycopg

        name = url.rsplit("/", 1)[1]
        with psycopg.connect(self.url(), autocommit=True) as con:
            con.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def reap_orphans(bindir: Path) -> list[Path]:
    """Stop the servers of test runs and benches that were killed before they could (their
    owner process is gone), and remove their folders; returns the folders removed.

    A server whose owner runs on, or was started on another host, or that will not stop, is
    left alone."""
    removed = []
    for base in Path(tempfile.gettempdir()).glob(f"{PREFIX}*"):
        datadir = base / "data"
        running = (datadir / "postmaster.pid").exists()
        try:
            pid_text, host = (base / OWNER_FILE).read_text(encoding="utf-8").split()
            owner_gone = host == socket.gethostname() and not pid_alive(int(pid_text))
        except FileNotFoundError:
            try:
                age = time.time() - base.stat().st_mtime
            except OSError:
                continue
            owner_gone = not running and age > UNOWNED_GRACE_S
        except (OSError, ValueError):
            continue
        if not owner_gone:
            continue
        if running and _server_alive(datadir):
            run_as = "postgres" if os.geteuid() == 0 else None
            PgServer(bindir, datadir, 0, run_as).stop("immediate")
            if _server_alive(datadir):
                continue
        shutil.rmtree(base, ignore_errors=True)
        removed.append(base)
    return removed


def _server_alive(datadir: Path) -> bool:
    """Whether the server that wrote the data folder's postmaster.pid still runs."""
    try:
        return pid_alive(int((datadir / "postmaster.pid").read_text().split("\n", 1)[0]))
    except (OSError, ValueError):
        return False


def start_server(durable: bool = False) -> PgServer:
    """initdb and start a server on a free loopback port (with fsync and synchronous commits
    only when `durable`); raises RuntimeError with the reason."""
    bindir = find_bindir()
    if bindir is None:
        raise RuntimeError(
            "PostgreSQL's server binaries (initdb, pg_ctl) are not installed: "
            "apt-get install postgresql"
        )
    run_as = None
    reap_orphans(bindir)
    base = Path(tempfile.mkdtemp(prefix=PREFIX))
    (base / OWNER_FILE).write_text(f"{os.getpid()} {socket.gethostname()}\n", encoding="utf-8")
    if os.geteuid() == 0:
        # initdb refuses to run as root: run the server as the postgres system user.
        try:
            pwd.getpwnam("postgres")
        except KeyError as exc:
            raise RuntimeError("running as root needs a 'postgres' system user") from exc
        run_as = "postgres"
        shutil.chown(base, user="postgres")
    datadir = base / "data"
    server = PgServer(bindir, datadir, _free_port(), run_as, durable)
    subprocess.run(
        server._cmd("initdb", "-D", str(datadir), "-A", "trust", "-U", "zviz", "-E", "UTF8"),
        check=True,
        capture_output=True,
    )
    server.start()
    return server
