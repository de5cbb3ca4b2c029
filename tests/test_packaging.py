"""requirements.txt (what Community Cloud installs) agrees with pyproject.toml, and Cloud reads it."""

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


def _pyproject() -> dict[str, Requirement]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    reqs = [Requirement(line) for line in data["project"]["dependencies"]]
    return {canonicalize_name(r.name): r for r in reqs}


def _declared() -> dict[str, Requirement]:
    """Every dependency pyproject.toml declares: runtime ones, then those of its extras."""
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    found = dict(_pyproject())
    for lines in data["project"].get("optional-dependencies", {}).values():
        for req in map(Requirement, lines):
            found.setdefault(canonicalize_name(req.name), req)
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


def test_every_runtime_dependency_is_pinned_within_its_pyproject_range() -> None:
    wanted, pinned = _pyproject(), _requirements()

    missing = sorted(set(wanted) - set(pinned))
    assert not missing, (
        f"pyproject.toml depends on {', '.join(missing)} but requirements.txt (what Community "
        "Cloud installs) does not pin them: add name==version lines."
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


def test_requirements_has_nothing_that_pyproject_lacks() -> None:
    # A pin may also come from an extra (psycopg: Cloud apps on a PostgreSQL team store need it,
    # `pip install zviz` does not); it must then lie within that extra's range.
    declared, pinned = _declared(), _requirements()
    extra = sorted(set(pinned) - set(declared))
    assert not extra, (
        f"requirements.txt pins {', '.join(extra)}, which pyproject.toml does not depend on: "
        "add it to [project.dependencies] (so pip installs of zviz get it too) or remove it."
    )
    for name in set(pinned) - set(_pyproject()):
        have, want = pinned[name], declared[name]
        version = _pin(have)
        assert want.specifier.contains(version, prereleases=True), (
            f"requirements.txt pins {have.name}=={version}, outside pyproject.toml's "
            f"'{want.specifier}': change one of them."
        )
        assert have.extras == want.extras, f"{have.name}: extras differ ({have.extras})."


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
