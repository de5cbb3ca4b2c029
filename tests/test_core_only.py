"""`pip install zviz` is the core a pipeline imports: no app, S3 or PostgreSQL packages in it.

The first tests look at what importing zviz_core and running a pipeline import here, where every
extra is installed. The slow one proves the extras are really separate: it installs the project
without extras into a fresh venv and runs a pipeline there, where the extras cannot be imported.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
# What the extras bring (import names): none may be imported by `import zviz_core` or a pipeline.
EXTRAS = {
    "app": ["streamlit", "streamlit_authenticator", "markdown_it", "altair", "sklearn"],
    "s3": ["s3fs"],
    "postgres": ["psycopg", "psycopg_pool"],
}
EXTRA_MODULES = sorted(m for modules in EXTRAS.values() for m in modules)
# Core dependencies a pipeline of plain values does not need: materializers import them lazily.
DATA_MODULES = ["pandas", "numpy", "PIL", "pyarrow"]

# Runs a pipeline of plain values into $ZVIZ_HOME and reads it back through a new Client; prints
# one JSON line with what it found. argv[1] == "data" adds a DataFrame step.
SCRIPT = r"""
import json, sys
from typing import Annotated

import zviz_core
from zviz_core import Client, pipeline, step
from zviz_core.types import CSVString, HTMLString, JSONString, MarkdownString

imported_by_import = sorted({m.split(".")[0] for m in sys.modules})
with_data = sys.argv[1:] == ["data"]


@step
def number() -> int:
    return 41


@step
def words(x: int) -> Annotated[str, "words"]:
    return f"n={x}"


@step
def raw() -> bytes:
    return b"\x00zviz"


@step
def mapping(x: int) -> dict:
    return {"x": x, "items": [1, 2]}


@step
def report(x: int) -> HTMLString:
    return HTMLString(f"<p>{x}</p>")


@step
def notes(x: int) -> MarkdownString:
    return MarkdownString(f"# {x}")


@step
def payload(x: int) -> JSONString:
    return JSONString(json.dumps({"x": x}))


@step
def table(x: int) -> CSVString:
    return CSVString(f"a,b\n{x},2\n")


@step
def frame(x: int):
    import pandas as pd

    return pd.DataFrame({"x": [x, x + 1]})


@pipeline
def plain() -> None:
    n = number()
    words(n)
    raw()
    mapping(n)
    report(n)
    notes(n)
    payload(n)
    table(n)
    if with_data:
        frame(n)


run = plain()
client = Client()
again = client.get_pipeline_run(run.id)
outputs = {}
for name, s in again.steps.items():
    value = s.output.load()
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    elif name == "frame":
        value = value["x"].tolist()
    outputs[name] = value
print(json.dumps({
    "zviz_core": zviz_core.__file__,
    "status": str(again.status),
    "outputs": outputs,
    "runs": client.list_pipeline_runs().total,
    "imported_by_import": imported_by_import,
    "imported": sorted({m.split(".")[0] for m in sys.modules}),
}))
"""

EXPECTED = {
    "number": 41,
    "words": "n=41",
    "raw": "\x00zviz",
    "mapping": {"x": 41, "items": [1, 2]},
    "report": "<p>41</p>",
    "notes": "# 41",
    "payload": '{"x": 41}',
    "table": "a,b\n41,2\n",
}

# In the core-only venv: what a user who lacks an extra is told, one JSON line.
MISSING_EXTRAS = r"""
import json, os, subprocess, sys
from importlib.util import find_spec

found = {}
found["importable"] = sorted(m for m in sys.argv[1:] if find_spec(m) is not None)


def error_of(code, **env):
    done = subprocess.run(
        [sys.executable, "-c", code], env={**os.environ, **env}, capture_output=True, text=True
    )
    return done.returncode, done.stderr.strip().splitlines()[-1] if done.stderr.strip() else ""


found["postgres"] = error_of(
    "from zviz_core import Client; Client().list_pipelines()",
    ZVIZ_STORE_URL="postgresql://zviz@127.0.0.1:9/zviz",
    ZVIZ_ARTIFACT_STORE=os.path.abspath("shared-artifacts"),
    ZVIZ_ARTIFACT_STORE_SHARED="1",
)
found["s3"] = error_of(
    "from zviz_core import pipeline, step\n"
    "@step\ndef one() -> int:\n    return 1\n"
    "@pipeline\ndef p() -> None:\n    one()\n"
    "p()",
    ZVIZ_ARTIFACT_STORE="s3://zviz-bucket/artifacts",
)
found["app"] = error_of("import zviz_core.ui.render")
print(json.dumps(found))
"""


def _clean_env(home: Path) -> dict[str, str]:
    """This environment without zviz's settings or a PYTHONPATH that could reach the checkout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZVIZ_")}
    env.pop("PYTHONPATH", None)
    env.update(ZVIZ_HOME=str(home), ZVIZ_DEMO="0")
    return env


def _run_json(args: list[str], env: dict[str, str], cwd: Path, timeout: float = 120) -> dict:
    done = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_import_and_a_plain_pipeline_import_no_extra_and_no_data_package(tmp_path: Path) -> None:
    script = tmp_path / "plain.py"
    script.write_text(SCRIPT)
    found = _run_json([sys.executable, str(script)], _clean_env(tmp_path / "home"), tmp_path)

    assert found["status"] == "completed" and found["outputs"] == EXPECTED
    leaked = sorted(set(found["imported_by_import"]) & {*EXTRA_MODULES, *DATA_MODULES})
    assert not leaked, f"`import zviz_core` imports {leaked}; import them where they are used."
    leaked = sorted(set(found["imported"]) & set(EXTRA_MODULES))
    assert not leaked, f"a pipeline of plain values imports {leaked}, which are extras."
    leaked = sorted(set(found["imported"]) & set(DATA_MODULES))
    assert not leaked, f"a pipeline of plain values imports {leaked}; materializers import lazily."


def test_zviz_core_modules_outside_ui_and_demo_are_not_loaded_by_import() -> None:
    code = "import json, sys, zviz_core; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    loaded = json.loads(done.stdout)
    assert not [m for m in loaded if m.startswith(("zviz_core.ui", "zviz_core.demo"))]


def _constraints(path: Path) -> Path:
    """requirements.txt as pip constraints (no extras allowed there): the core venv gets the
    versions the suite tested, from pip's cache once dev.py has installed them."""
    lines = []
    for raw in (ROOT / "requirements.txt").read_text().splitlines():
        line = raw.split(" #", 1)[0].strip()
        if line and not line.startswith("#"):
            req = Requirement(line)
            lines.append(f"{req.name}{req.specifier}")
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.slow
@pytest.mark.timeout(900)  # a machine with an empty pip cache downloads the core's wheels
def test_core_install_runs_a_pipeline_and_lacks_every_extra(tmp_path: Path) -> None:
    # A copy of what the wheel is built from, so the build writes nothing into the checkout that
    # others work in, and a module missing from the package would fail here.
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "streamlit_app.py"):
        shutil.copy2(ROOT / name, source / name)
    for folder in ("zviz_core", "app_pages"):
        shutil.copytree(
            ROOT / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__")
        )
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    install = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--disable-pip-version-check",
            "-q",
            "-c",
            str(_constraints(tmp_path / "constraints.txt")),
            str(source),  # no extras: what `pip install zviz` gives
        ],
        capture_output=True,
        text=True,
        timeout=840,
    )
    assert install.returncode == 0, install.stderr[-3000:]

    run = tmp_path / "run"
    run.mkdir()
    (run / "plain.py").write_text(SCRIPT)
    (run / "missing.py").write_text(MISSING_EXTRAS)
    env = _clean_env(tmp_path / "home")
    found = _run_json([str(python), "plain.py", "data"], env, run)
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    assert Path(found["zviz_core"]).is_relative_to(site), found["zviz_core"]
    assert found["status"] == "completed"
    assert found["outputs"] == {**EXPECTED, "frame": [41, 42]}
    assert found["runs"] == 1

    missing = _run_json([str(python), "missing.py", *EXTRA_MODULES], env, run)
    assert missing["importable"] == [], (
        f"{missing['importable']} came with the core install; they belong in an extra."
    )
    code, message = missing["postgres"]
    assert code != 0 and 'pip install "zviz[postgres]"' in message, message
    code, message = missing["s3"]
    assert code != 0 and 'pip install "zviz[s3]"' in message, message
    code, message = missing["app"]
    assert code != 0 and 'pip install "zviz[app]"' in message, message

    # The `zviz` command comes with the core: the store commands work, the app names its extra.
    zviz = python.with_name("zviz.exe" if os.name == "nt" else "zviz")
    info = subprocess.run(
        [str(zviz), "store", "info"], env=env, cwd=run, capture_output=True, text=True
    )
    assert info.returncode == 0 and "engine:   duckdb" in info.stdout, info.stderr
    app = subprocess.run([str(zviz), "app"], env=env, cwd=run, capture_output=True, text=True)
    assert app.returncode == 1 and 'pip install "zviz[app]"' in app.stderr, app.stderr
