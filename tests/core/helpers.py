"""Helpers shared by the core tests: running Python code in another process on a test store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def child_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a child process that works on the store at `home`."""
    shared = ("ZVIZ_STORE_URL", "ZVIZ_ARTIFACT_STORE", "ZVIZ_ARTIFACT_STORE_SHARED")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZVIZ_") or k in shared}
    env.update(ZVIZ_HOME=str(home), ZVIZ_DEMO="0", PYTHONPATH=str(REPO), **extra)
    return env


def run_python(
    code: str, home: Path, timeout: float = 60, check: bool = True, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run `code` with `python -c` in a fresh interpreter on the store at `home`."""
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=child_env(home, **env),
        cwd=str(REPO),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check:
        assert proc.returncode == 0, f"child failed ({proc.returncode}):\n{proc.stderr}"
    return proc


def start_python(code: str, home: Path, **env: str) -> subprocess.Popen[str]:
    """Start `code` in a fresh interpreter without waiting for it."""
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=child_env(home, **env),
        cwd=str(REPO),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def last_json_line(text: str) -> Any:
    """The JSON document on the last non-empty line a child printed."""
    lines = [line for line in text.splitlines() if line.strip()]
    assert lines, "the child printed nothing"
    return json.loads(lines[-1])
