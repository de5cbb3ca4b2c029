"""One entry point for working on zviz: `python dev.py app` runs the app, `python dev.py test` the tests.

It needs only Python >= 3.11. On first use it makes a virtual environment in `.venv`, installs the
pinned runtime (`requirements.txt`: the core and its app, s3 and postgres extras) and the package
with its test extra (which pulls in every other extra), and reinstalls whenever those files
change. Extra arguments go to streamlit (through `zviz app`; `app --reload` watches the source)
or pytest.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("ZVIZ_VENV", ROOT / ".venv"))
STAMP = VENV / ".zviz-installed"
USAGE = "usage: python dev.py {app [--reload]|test|lint|bench} [args...]"


def _python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _wanted_stamp() -> str:
    digest = hashlib.sha256()
    for name in ("requirements.txt", "pyproject.toml"):
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()


def ensure_env() -> Path:
    """Create or refresh `.venv` so that it matches requirements.txt and pyproject.toml."""
    if sys.version_info < (3, 11):  # noqa: UP036  (dev.py may be started by an older Python)
        sys.exit(f"zviz needs Python >= 3.11; this is {sys.version.split()[0]}")
    if not _python().exists():
        print(f"dev.py: creating {VENV} ...", flush=True)
        venv.EnvBuilder(with_pip=True, upgrade_deps=True).create(VENV)
    wanted = _wanted_stamp()
    if not STAMP.exists() or STAMP.read_text() != wanted:
        print("dev.py: installing dependencies (first run takes a minute) ...", flush=True)
        pip = [str(_python()), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
        # setuptools warns on every editable install of a flat layout that a folder named like
        # the package in the working folder may shadow it: here that folder is the package.
        quiet = {**os.environ, "PYTHONWARNINGS": "ignore:Editable installation"}
        # One resolve for both, so the test tools can never move a pinned version.
        subprocess.run(
            [*pip, "-r", str(ROOT / "requirements.txt"), "-e", f"{ROOT}[test]"],
            check=True,
            env=quiet,
        )
        STAMP.write_text(wanted)
    return _python()


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"app", "test", "lint", "bench"}:
        print(USAGE, file=sys.stderr)
        return 2
    command, rest = argv[0], argv[1:]
    python = str(ensure_env())
    os.chdir(ROOT)
    if command == "app":
        # `zviz app`: the store summary, then streamlit (its file watcher only with --reload).
        args = [python, "-m", "zviz_core.cli", "app", *rest]
    elif command == "test":
        args = [python, "-m", "pytest", *rest]
    elif command == "bench":
        args = [python, "bench/run.py", *rest]
    else:
        check = subprocess.run([python, "-m", "ruff", "check", "."]).returncode
        fmt = subprocess.run([python, "-m", "ruff", "format", "--check", "."]).returncode
        return check or fmt
    return become(args)


def become(args: list[str]) -> int:
    """Run `args` in place of this process where the OS allows it (POSIX), so that a signal
    sent to dev.py (a supervisor's SIGTERM) reaches the command itself and leaves no orphan."""
    sys.stdout.flush()
    sys.stderr.flush()
    if os.name == "posix":
        os.execv(args[0], args)
    return subprocess.run(args).returncode


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
