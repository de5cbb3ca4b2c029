"""Packaging: `pip install zviz` is the core, extras add the rest, and requirements.txt (what
Community Cloud installs) pins exactly the core and the extras a Cloud app needs."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from zviz_core.access import AccessConfig
from zviz_core.ui.auth import EXAMPLE_KEY_PREFIX

ROOT = Path(__file__).resolve().parents[1]
# Community Cloud uses the first of these it finds, looking beside the entrypoint first, then at
# the repo root; only requirements.txt may be there, or pins below would be silently ignored.
SHADOWING_FILES = ("uv.lock", "Pipfile", "Pipfile.lock", "environment.yml", "environment.yaml")
ENTRYPOINT_DIRS = (ROOT,)
BCRYPT = re.compile(r"^\$2[aby]\$\d+\$.{53}$")  # streamlit-authenticator's Hasher.is_hash
# The extras a Cloud app installs beside the core: the app itself, and a team store's S3
# artifacts and PostgreSQL metadata. requirements.txt pins these, and nothing else.
CLOUD_EXTRAS = ("app", "s3", "postgres")
# Never in the core: a pipeline's machine does not need them (tests/test_core_only.py proves it).
NOT_CORE = (
    "streamlit",
    "streamlit-authenticator",
    "scikit-learn",
    "s3fs",
    "psycopg",
    "psycopg-pool",
)


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _by_name(reqs: list[Requirement]) -> dict[str, Requirement]:
    found: dict[str, Requirement] = {}
    for req in reqs:
        name = canonicalize_name(req.name)
        assert name not in found, f"pyproject.toml lists {req.name} twice in one place."
        found[name] = req
    return found


def _core() -> dict[str, Requirement]:
    return _by_name([Requirement(line) for line in _project()["project"]["dependencies"]])


def _extra(name: str, seen: tuple[str, ...] = ()) -> dict[str, Requirement]:
    """An extra's requirements, with `zviz[...]` references to other extras expanded."""
    extras = _project()["project"]["optional-dependencies"]
    assert name in extras, f"pyproject.toml has no extra named {name!r}."
    assert name not in seen, f"extras refer to each other in a loop: {' -> '.join(seen)}."
    found: dict[str, Requirement] = {}
    for req in map(Requirement, extras[name]):
        if canonicalize_name(req.name) == "zviz":
            for other in sorted(req.extras):
                for key, value in _extra(other, (*seen, name)).items():
                    found.setdefault(key, value)
        else:
            key = canonicalize_name(req.name)
            assert key not in found, f"pyproject.toml lists {req.name} twice in extra {name!r}."
            found[key] = req
    return found


def _cloud() -> dict[str, Requirement]:
    """What Community Cloud must install: the core and the Cloud extras."""
    found = dict(_core())
    for extra in CLOUD_EXTRAS:
        for name, req in _extra(extra).items():
            assert name not in found or found[name] == req, (
                f"{req.name} is declared twice with different ranges ({found[name]}, {req})."
            )
            found[name] = req
    return found


def _requirements_lines() -> list[tuple[int, str]]:
    lines = []
    for number, raw in enumerate((ROOT / "requirements.txt").read_text().splitlines(), 1):
        line = raw.split(" #", 1)[0].strip()
        if line and not line.startswith("#"):
            lines.append((number, line))
    return lines


def _requirements() -> dict[str, Requirement]:
    found: dict[str, Requirement] = {}
    for number, line in _requirements_lines():
        assert not line.startswith("-"), (
            f"requirements.txt line {number}: pip options ({line!r}) are not checked against "
            "pyproject.toml; list plain pinned requirements only."
        )
        req = Requirement(line)
        name = canonicalize_name(req.name)
        assert name not in found, f"requirements.txt line {number}: {req.name} is listed twice."
        found[name] = req
    return found


def _pin(req: Requirement) -> str:
    specs = list(req.specifier)
    assert len(specs) == 1 and specs[0].operator == "==" and "*" not in specs[0].version, (
        f"requirements.txt must pin {req.name} to one exact version (name==X.Y.Z), "
        f"not {str(req.specifier) or 'nothing'}: Cloud should install what was tested."
    )
    return specs[0].version


def test_every_cloud_dependency_is_pinned_within_its_pyproject_range() -> None:
    wanted, pinned = _cloud(), _requirements()

    missing = sorted(set(wanted) - set(pinned))
    assert not missing, (
        f"pyproject.toml's core or {'/'.join(CLOUD_EXTRAS)} extras depend on "
        f"{', '.join(missing)}, but requirements.txt (what Community Cloud installs) does not "
        "pin them: add name==version lines."
    )
    for name, want in wanted.items():
        have = pinned[name]
        version = _pin(have)
        assert want.specifier.contains(version, prereleases=True), (
            f"requirements.txt pins {have.name}=={version}, outside pyproject.toml's "
            f"'{want.specifier}': change one of them."
        )
        assert have.extras == want.extras, f"{have.name}: extras differ ({have.extras})."
        assert str(have.marker or "") == str(want.marker or ""), f"{have.name}: markers differ."


def test_requirements_has_nothing_that_the_cloud_install_lacks() -> None:
    # Test tools stay out: Cloud installs what the app runs on, and only that.
    extra = sorted(set(_requirements()) - set(_cloud()))
    assert not extra, (
        f"requirements.txt pins {', '.join(extra)}, which neither the core nor the "
        f"{'/'.join(CLOUD_EXTRAS)} extras of pyproject.toml declare: declare it there (so pip "
        "installs of zviz get it too) or remove it."
    )


def test_core_leaves_the_app_s3_and_postgres_to_their_extras() -> None:
    core = _core()
    in_core = [name for name in NOT_CORE if name in core]
    assert not in_core, f"{in_core} must come with an extra, not with `pip install zviz`."
    for extra in CLOUD_EXTRAS:
        both = sorted(set(core) & set(_extra(extra)))
        assert not both, f"{both} are in the core and in extra {extra!r}: keep one place."
    assert set(_extra("app")) >= {"streamlit", "streamlit-authenticator", "markdown-it-py"}
    assert set(_extra("s3")) == {"s3fs"}
    assert set(_extra("postgres")) == {"psycopg", "psycopg-pool"}
    assert _extra("postgres")["psycopg"].extras == {"binary"}


def test_the_test_extra_installs_every_other_extra() -> None:
    # dev.py installs `-e .[test]`: the suite covers the app, S3 and PostgreSQL only if the test
    # extra pulls in every other extra (pip resolves `zviz[...]` references to this project).
    extras = _project()["project"]["optional-dependencies"]
    test = _extra("test")
    for name in set(extras) - {"test"}:
        missing = sorted(set(_extra(name)) - set(test))
        assert not missing, f"the test extra lacks {missing} from extra {name!r}."
    assert "[test]" in (ROOT / "dev.py").read_text()


def test_license_is_an_spdx_expression_that_the_build_backend_accepts() -> None:
    # A TOML table (`{text = ...}`) makes setuptools print deprecation warnings on every build;
    # the string form (PEP 639) needs setuptools >= 77 in the build environment.
    data = _project()
    assert data["project"]["license"] == "Apache-2.0"
    (setuptools,) = [
        Requirement(r)
        for r in data["build-system"]["requires"]
        if canonicalize_name(Requirement(r).name) == "setuptools"
    ]
    assert not setuptools.specifier.contains("76.9.9") and setuptools.specifier.contains("77.0.0")


@pytest.mark.parametrize("folder", ENTRYPOINT_DIRS, ids=lambda p: p.name or "root")
def test_no_other_dependency_file_shadows_requirements(folder: Path) -> None:
    assert (ROOT / "requirements.txt").is_file()
    present = [name for name in SHADOWING_FILES if (folder / name).exists()]
    assert not present, (
        f"{', '.join(present)} in {folder} would take precedence over requirements.txt on "
        "Streamlit Community Cloud (uv.lock > Pipfile > environment.yml > requirements.txt): "
        "remove it or move it out of the repo root."
    )


def test_pyproject_is_not_a_poetry_project() -> None:
    # Cloud reads pyproject.toml only for Poetry; a [tool.poetry] table would invite confusion
    # over which file is authoritative.
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "poetry" not in data.get("tool", {})


def test_tests_run_against_the_pinned_versions() -> None:
    # What the suite tested is what Cloud installs; `python dev.py test` reinstalls on change.
    wrong = []
    for name, req in _requirements().items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            wrong.append(f"{req.name} is not installed")
            continue
        if installed != _pin(req):
            wrong.append(f"{req.name} {installed} installed, {_pin(req)} pinned")
    assert not wrong, "; ".join(wrong) + ". Reinstall with `pip install -r requirements.txt`."


def test_secrets_example_is_a_valid_config_that_cannot_be_used_as_it_is() -> None:
    text = (ROOT / ".streamlit" / "secrets.toml.example").read_text(encoding="utf-8")
    secrets = tomllib.loads(text)
    # Uncommented, the settings would be root-level strings, which Streamlit exports as env vars.
    settings = tomllib.loads(
        "\n".join(
            line.removeprefix("# ")
            for line in text.splitlines()
            if line.startswith("# ZVIZ_") or line.startswith("# AWS_")
        )
    )
    assert {"ZVIZ_HOME", "ZVIZ_ARTIFACT_STORE", "ZVIZ_DEMO"} <= set(settings)
    assert all(isinstance(v, str) for v in settings.values())

    config = AccessConfig.from_yaml(yaml.safe_dump(secrets), source="secrets.toml.example")
    users = secrets["credentials"]["usernames"]
    assert set(config.user_roles) == set(users)
    for user in users.values():
        # A bcrypt hash or a <placeholder> the app refuses; never a plain password.
        password = user["password"]
        assert BCRYPT.match(password) or (password.startswith("<") and password.endswith(">"))
    # The app refuses example keys by this prefix, so the example can never sign real cookies.
    assert secrets["cookie"]["key"].lower().startswith(EXAMPLE_KEY_PREFIX)


def test_pyproject_declares_the_zviz_command() -> None:
    assert _project()["project"]["scripts"] == {"zviz": "zviz_core.cli:main"}
    # The command is in the core, so its library is too (the app's own commands say what to add).
    assert {"click", "pydantic-settings"} <= set(_core())


@pytest.mark.slow
def test_the_wheel_ships_the_library_the_app_and_the_command_only(tmp_path: Path) -> None:
    import subprocess
    import sys
    import zipfile

    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (wheel,) = tmp_path.glob("zviz-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names if not n.startswith("zviz-")}
    assert top == {"zviz_core", "app_pages", "streamlit_app.py"}
    assert {f"app_pages/{p.name}" for p in (ROOT / "app_pages").glob("*.py")} <= set(names)
    (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "[console_scripts]\nzviz = zviz_core.cli:main" in text
    warnings = [line for line in done.stderr.splitlines() if "warn" in line.lower()]
    assert not [w for w in warnings if "Location" not in w], warnings
