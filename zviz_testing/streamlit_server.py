"""`streamlit run streamlit_app.py` on 127.0.0.1, and the flags Debian's Chromium needs here.

Shared by the browser tests' fixtures and bench/app.py's cold-start figure."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "streamlit_app.py"
# Without the background-networking flags Chromium keeps dialling hosts this machine cannot reach.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def launch(env: dict[str, str], cwd: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Start the app headless on a free port, its output in `log`; returns (process, url)."""
    port = free_port()
    command = [
        sys.executable, "-m", "streamlit", "run", str(APP),
        "--server.headless", "true",
        "--server.port", str(port),
        "--server.address", "127.0.0.1",
        "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none",
    ]  # fmt: skip
    # Output goes to a file: a pipe that nobody reads (or that closes early) stalls the server.
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=str(cwd), env=env, stdout=out, stderr=subprocess.STDOUT
        )
    return process, f"http://127.0.0.1:{port}"


def wait_healthy(
    process: subprocess.Popen[bytes], url: str, log: Path, timeout_s: float, poll_s: float = 0.1
) -> None:
    """Return once the server answers its health check; raises RuntimeError with the end of
    the log when the process exits or `timeout_s` passes first (the process is left running)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with {process.returncode}:\n{_tail(log)}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as response:
                if response.read().strip() == b"ok":
                    return
        except OSError:
            time.sleep(poll_s)
    raise RuntimeError(f"streamlit did not become healthy in {timeout_s} s:\n{_tail(log)}")


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the server process (by its pid) and wait for it."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _tail(log: Path, lines: int = 40) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
