"""YAML merge keys in the auth config are refused with the file and line; plain aliases still work.

The authenticator applies merges (yaml.safe_load) and the access rules did not (node tree): a role
merged into a user showed in the sidebar and granted nothing. Both readers must agree, so the
config is refused before either reads it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from zviz_core.access import AccessConfig
from zviz_core.errors import ConfigError
from zviz_core.ui import auth
from zviz_testing.world import COOKIE_KEY

RULES = (
    "access:\n  roles:\n    admin: {read: ['*'], write: ['*']}\n    viewer: {read: ['model:*']}\n"
)

USER_MERGE = (
    "credentials:\n"
    "  usernames:\n"
    "    alice: &base\n"
    "      name: Alice\n"
    "      password: alice-pass-123\n"
    "      roles: [admin]\n"
    "    bob:\n"
    "      <<: *base\n"  # line 8
    "      name: Bob\n" + RULES
)
ROLE_MERGE = (
    "credentials:\n  usernames:\n    alice: {password: pw-123456, roles: [viewer]}\n"
    "access:\n"
    "  roles:\n"
    "    admin: &all {read: ['*'], write: ['*']}\n"
    "    viewer:\n"
    "      read: ['model:*']\n"
    "      <<: *all\n"  # line 9
)
LIST_MERGE = (
    "credentials:\n  usernames:\n    alice: {password: pw-123456, roles: [viewer]}\n"
    "defaults:\n  a: &a {read: ['*']}\n  b: &b {write: ['*']}\n"
    "access:\n  roles:\n    viewer: {<<: [*a, *b]}\n"  # line 9
)


@pytest.mark.parametrize(
    ("text", "line"),
    [(USER_MERGE, 8), (ROLE_MERGE, 9), (LIST_MERGE, 9)],
    ids=["user-entry", "role-grants", "merge-list"],
)
def test_access_rules_refuse_a_merge_key_naming_the_line(text: str, line: int) -> None:
    with pytest.raises(ConfigError) as info:
        AccessConfig.from_yaml(text, source="team.yaml")
    assert str(info.value).startswith(f"team.yaml line {line}: YAML merge keys (<<)")


def test_the_app_config_with_a_merge_key_does_not_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What the authenticator would read: bob an admin (the sidebar showed that role).
    assert yaml.safe_load(USER_MERGE)["credentials"]["usernames"]["bob"]["roles"] == ["admin"]
    path = tmp_path / "auth.yaml"
    path.write_text(USER_MERGE, encoding="utf-8")
    monkeypatch.setenv("ZVIZ_AUTH_CONFIG", str(path))
    monkeypatch.setenv("ZVIZ_COOKIE_KEY", COOKIE_KEY)
    with pytest.raises(ConfigError) as info:
        auth.load_setup()
    assert f"{path} line 8" in str(info.value)
    # And a script acting as bob through the same file is refused the same way.
    with pytest.raises(ConfigError, match="line 8"):
        AccessConfig.from_path(path)


def test_anchors_and_aliases_without_merge_mean_the_same_to_both_readers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = (
        "credentials:\n  usernames:\n"
        "    alice: {name: Alice, password: pw-123456, roles: &team [viewer]}\n"
        "    bob: {name: Bob, password: pw-654321, roles: *team}\n" + RULES
    )
    path = tmp_path / "auth.yaml"
    path.write_text(text, encoding="utf-8")
    monkeypatch.setenv("ZVIZ_AUTH_CONFIG", str(path))
    monkeypatch.setenv("ZVIZ_COOKIE_KEY", COOKIE_KEY)
    setup = auth.load_setup()
    assert setup is not None
    assert setup.credentials["usernames"]["bob"]["roles"] == ["viewer"]  # what the sidebar shows
    assert setup.access.user_roles["bob"] == ("viewer",)  # what the rules apply
