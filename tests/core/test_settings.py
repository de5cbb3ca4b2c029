"""Settings: every ZVIZ_* variable is read by zviz_core/settings.py, validated with a message that
names the variable, re-read when the environment changes, and listed in the README's table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from zviz_core import Client
from zviz_core.demo import demo_enabled
from zviz_core.errors import ConfigError
from zviz_core.settings import fields, settings
from zviz_core.store import forget_engines

ROOT = Path(__file__).resolve().parents[2]
# These name their own stores and settings: the engine parametrisation of tests/core adds nothing.
pytestmark = pytest.mark.duckdb_only
ROW = re.compile(r"^\| `(ZVIZ_[A-Z_]+)` \|")


def _readme_rows() -> dict[str, str]:
    rows = {}
    for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines():
        if match := ROW.match(line):
            rows[match[1]] = line.strip().strip("|").split("|")[1].strip()
    return rows


def test_the_readme_table_lists_every_setting_as_the_model_describes_it() -> None:
    rows, model = _readme_rows(), fields()
    assert set(rows) == set(model), (
        f"README's settings table and zviz_core/settings.py differ: missing from the README "
        f"{sorted(set(model) - set(rows))}, unknown to the model {sorted(set(rows) - set(model))}"
    )
    for name, description in model.items():
        assert rows[name] == description, f"{name}: README says {rows[name]!r}"
    assert "ZVIZ_READ_CACHE" in rows


@pytest.mark.parametrize(
    ("value", "why"),
    [("abc", "must be a number of seconds"), ("-1", "must be more than 0 seconds"), ("0", "more")],
)
def test_a_bad_lock_timeout_names_the_variable_and_the_reason(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, value: str, why: str
) -> None:
    monkeypatch.setenv("ZVIZ_HOME", str(tmp_path))
    monkeypatch.setenv("ZVIZ_LOCK_TIMEOUT", value)
    forget_engines(close=True)
    with pytest.raises(ConfigError) as caught:
        Client()
    message = str(caught.value)
    assert message.startswith("ZVIZ_LOCK_TIMEOUT ") and why in message and repr(value) in message


def test_a_changed_environment_is_seen_by_the_next_call(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZVIZ_LOCK_TIMEOUT", "2.5")
    assert settings().LOCK_TIMEOUT == 2.5
    monkeypatch.setenv("ZVIZ_LOCK_TIMEOUT", "7")
    assert settings().LOCK_TIMEOUT == 7.0
    monkeypatch.delenv("ZVIZ_LOCK_TIMEOUT")
    assert settings().LOCK_TIMEOUT == 30.0


@pytest.mark.parametrize(
    ("value", "embedded", "team"),
    [
        (None, True, False),
        ("", True, False),
        ("1", True, True),
        (" yes ", True, True),
        ("0", False, False),
        ("OFF", False, False),
        ("false", False, False),
    ],
)
def test_zviz_demo_is_parsed_once_for_the_seed_and_the_logins(
    monkeypatch: pytest.MonkeyPatch, value: str | None, embedded: bool, team: bool
) -> None:
    if value is None:
        monkeypatch.delenv("ZVIZ_DEMO", raising=False)
    else:
        monkeypatch.setenv("ZVIZ_DEMO", value)
    assert demo_enabled(team_store=False) is embedded
    assert demo_enabled(team_store=True) is team


def test_a_zviz_demo_that_is_neither_on_nor_off_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ZVIZ_DEMO", "maybe")
    with pytest.raises(ConfigError, match=r"ZVIZ_DEMO must be 1 \(on\) or 0 \(off\), not 'maybe'"):
        demo_enabled()


def test_artifact_store_options_must_be_a_json_object(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZVIZ_ARTIFACT_STORE_OPTIONS", "[1, 2]")
    with pytest.raises(ConfigError, match="ZVIZ_ARTIFACT_STORE_OPTIONS must be a JSON object"):
        settings()
    monkeypatch.setenv("ZVIZ_ARTIFACT_STORE_OPTIONS", '{"anon": true}')
    assert settings().ARTIFACT_STORE_OPTIONS == {"anon": True}


def test_streamlit_secrets_fill_what_the_environment_leaves_unset(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ZVIZ_COOKIE_KEY", raising=False)
    monkeypatch.setenv("ZVIZ_PROJECT", "from-env")
    secrets = {"ZVIZ_COOKIE_KEY": "k" * 32, "ZVIZ_PROJECT": "from-secrets", "credentials": {}}
    found = settings(secrets)
    assert found.COOKIE_KEY is not None and found.COOKIE_KEY.get_secret_value() == "k" * 32
    assert found.PROJECT == "from-env"
    assert "k" * 32 not in repr(found)  # a secret never shows in a log line
