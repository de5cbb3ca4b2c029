"""The login users in an auth YAML: add, change the password of, remove and list them, keeping
the rest of the file (comments included) as it is. `zviz users` is its command line."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from zviz_core.access import AccessConfig
from zviz_core.errors import ConfigError

MAX_PASSWORD_BYTES = 72  # bcrypt refuses longer passwords
LOCAL_CONFIG = Path(".streamlit") / "auth.yaml"


_NEW_CONFIG = """\
# zviz login and access rules (read by streamlit-authenticator and by zviz).
# Keep this file out of git. Add users with:
#   zviz users add USERNAME --role viewer --config {path}
credentials:
  usernames: {{}}
cookie:
  name: zviz_auth
  # Signs the login cookie. $ZVIZ_COOKIE_KEY (environment or secrets) overrides it.
  key: {key}
  expiry_days: 7
access:
  roles:
    admin: {{read: ["*"], write: ["*"]}}
    viewer: {{read: ["project:*"]}}
  # Grants for one user, added to their roles' grants:
  # users:
  #   bob: {{read: ["deployment:serving"]}}
"""


def hash_password(password: str) -> str:
    """Return the bcrypt hash of `password`; raises ValueError for a password the login form
    could never match (empty, longer than 72 bytes, or with surrounding spaces)."""
    if not password:
        raise ValueError("The password is empty.")
    if password != password.strip():
        raise ValueError("The login form strips surrounding spaces: remove them from the password.")
    if len(password.encode()) > MAX_PASSWORD_BYTES:
        raise ValueError(f"bcrypt takes at most {MAX_PASSWORD_BYTES} bytes of password.")
    import bcrypt  # what streamlit_authenticator.Hasher.hash does, without its import noise

    return bcrypt.hashpw(password.encode(), bcrypt.gensalt()).decode()


def _flow(value: Any) -> str:
    return yaml.safe_dump(value, default_flow_style=True, width=10_000, sort_keys=False).strip()


def _child(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    return next((v for k, v in node.value if str(k.value) == key), None)


def _content_end(node: yaml.Node) -> int:
    """Index just after a node's last character (a block collection's end mark lies after any
    trailing comments, which belong to whatever follows)."""
    if isinstance(node, yaml.MappingNode) and node.value and not node.flow_style:
        return _content_end(node.value[-1][1])
    if isinstance(node, yaml.SequenceNode) and node.value and not node.flow_style:
        return _content_end(node.value[-1])
    return node.end_mark.index


def _edit_users(text: str, username: str, entry: dict[str, Any]) -> str | None:
    """Add or replace one user in the text, touching nothing else; None if the layout is one
    this does not handle (the caller then rewrites the whole document)."""
    root = yaml.compose(text)
    creds = _child(root, "credentials")
    users = _child(creds, "usernames")
    if users is None or not isinstance(creds, yaml.MappingNode) or creds.flow_style:
        return None
    key_column = next(k for k, _ in creds.value if k.value == "usernames").start_mark.column
    if isinstance(users, yaml.ScalarNode) and users.value == "":  # `usernames:` and nothing
        at = users.start_mark.index
        return text[:at] + f"\n{' ' * (key_column + 2)}{username}: {_flow(entry)}" + text[at:]
    if not isinstance(users, yaml.MappingNode):
        return None
    if not users.value:  # `usernames: {}`
        start, end = users.start_mark.index, users.end_mark.index
        line = f"\n{' ' * (key_column + 2)}{username}: {_flow(entry)}"
        return text[:start].rstrip(" ") + line + text[end:]
    if users.flow_style:
        return None
    for key, value in users.value:
        if str(key.value).strip().lower() == username:
            # A block value keeps its place on the line below its key; flow YAML is fine there.
            start, end = value.start_mark.index, _content_end(value)
            return text[:start] + _flow(entry) + text[end:]
    indent = users.value[0][0].start_mark.column
    at = _content_end(users.value[-1][1])
    return text[:at] + f"\n{' ' * indent}{username}: {_flow(entry)}" + text[at:]


def upsert_user(text: str, username: str, entry: dict[str, Any]) -> str:
    """Return the config text with `username` added, or replaced by `entry`.

    The rest of the file, comments included, stays as it is (a whole-file rewrite only for a
    `credentials` section in flow style). Raises ConfigError if the result is not a valid config,
    for example when a role is not defined in access.roles.
    """
    result = _edit_users(text, username, entry) if text.strip() else None
    if result is None:
        data = (yaml.safe_load(text) if text.strip() else None) or {}
        if not isinstance(data, dict):
            raise ConfigError("The config file is not a YAML mapping.")
        creds = data.get("credentials") or {}
        users = creds.get("usernames") or {}
        users[username] = entry
        creds["usernames"] = users
        data["credentials"] = creds
        result = yaml.safe_dump(data, sort_keys=False)
    AccessConfig.from_yaml(result, source="the updated config")
    return result


def _remove_text(text: str, username: str) -> str | None:
    """The text without `username`'s entry (its lines, comments around it kept); None if the
    layout is one this does not handle (the caller then rewrites the whole document)."""
    users = _child(_child(yaml.compose(text), "credentials"), "usernames")
    if not isinstance(users, yaml.MappingNode) or users.flow_style:
        return None
    for key, value in users.value:
        if str(key.value).strip().lower() == username:
            start = text.rfind("\n", 0, key.start_mark.index) + 1
            end = text.find("\n", _content_end(value))
            end = len(text) if end < 0 else end + 1
            if len(users.value) == 1:  # the mapping would be left without a value
                return text[:start] + " " * key.start_mark.column + "{}\n" + text[end:]
            return text[:start] + text[end:]
    return None


@dataclass(frozen=True)
class User:
    """One login user as the config lists it."""

    username: str
    name: str
    email: str
    roles: tuple[str, ...]


def config_path(config: str | Path | None = None) -> Path:
    """The auth YAML to edit: `config`, else $ZVIZ_AUTH_CONFIG, else .streamlit/auth.yaml."""
    from zviz_core.settings import settings

    return Path(config or settings().AUTH_CONFIG or LOCAL_CONFIG).expanduser()


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8") if path.exists() else ""
    except OSError as exc:
        raise ConfigError(f"{path} cannot be read ({exc.strerror}).") from exc


def _usernames(text: str) -> dict[str, Any]:
    data = (yaml.safe_load(text) if text.strip() else None) or {}
    if not isinstance(data, dict):
        raise ConfigError("The config file is not a YAML mapping.")
    users = (data.get("credentials") or {}).get("usernames") or {}
    return {str(k).strip().lower(): v for k, v in users.items()}


def _write(path: Path, text: str) -> None:
    """Replace the file in one step, readable by its owner only (it holds password hashes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.chmod(tmp, 0o600)
    tmp.replace(path)


def check_username(username: str) -> str:
    """Return the username as the login form sees it (stripped, lower-cased); raises ValueError
    for one that is empty or more than one word."""
    name = username.strip().lower()
    if not name or any(c.isspace() for c in name):
        raise ValueError("A username must be one word.")
    return name


def add_user(
    path: Path,
    username: str,
    password: str,
    roles: list[str] | None = None,
    name: str | None = None,
    email: str | None = None,
) -> bool:
    """Add `username` to the auth YAML at `path` (created, with a new random cookie key, if
    absent), or update them; roles, name and email not given are kept. Returns True if the user
    is new.

    Raises ValueError for a bad username or password, ConfigError if the result would not be a
    valid config (for example a role that access.roles does not define).
    """
    username = check_username(username)
    text = _read(path)
    if not text.strip():
        text = _NEW_CONFIG.format(path=path, key=secrets.token_urlsafe(32))
    existing = _usernames(text).get(username) or {}
    entry = {
        "name": name or existing.get("name") or username.title(),
        "email": email or existing.get("email") or f"{username}@example.com",
        "password": hash_password(password),
        "roles": list(roles) if roles else list(existing.get("roles") or []),
    }
    _write(path, upsert_user(text, username, entry))
    return not existing


def set_password(path: Path, username: str, password: str) -> None:
    """Set the password of an existing user. Raises ConfigError if the config or the user does
    not exist, ValueError for a password the login form could never match."""
    username = check_username(username)
    text = _read(path)
    existing = _usernames(text).get(username)
    if not isinstance(existing, dict):
        raise ConfigError(f"{path} has no user {username!r}: add them with `zviz users add`.")
    _write(path, upsert_user(text, username, {**existing, "password": hash_password(password)}))


def remove_user(path: Path, username: str) -> None:
    """Remove a user from the auth YAML. Raises ConfigError if the config or the user does not
    exist. (The app revokes a removed user's login cookies at its next start.)"""
    username = check_username(username)
    text = _read(path)
    if username not in _usernames(text):
        raise ConfigError(f"{path} has no user {username!r}.")
    result = _remove_text(text, username)
    if result is None:
        data = yaml.safe_load(text)
        users = data["credentials"]["usernames"]
        for key in [k for k in users if str(k).strip().lower() == username]:
            del users[key]
        result = yaml.safe_dump(data, sort_keys=False)
    AccessConfig.from_yaml(result, source="the updated config")
    _write(path, result)


def list_users(path: Path) -> list[User]:
    """The users of the auth YAML, sorted by username. Raises ConfigError if it cannot be read
    or is not a mapping."""
    if not path.exists():
        raise ConfigError(f"{path} does not exist: `zviz users add` creates it.")
    found = []
    for username, entry in sorted(_usernames(_read(path)).items()):
        entry = entry if isinstance(entry, dict) else {}
        found.append(
            User(
                username=username,
                name=str(entry.get("name") or ""),
                email=str(entry.get("email") or ""),
                roles=tuple(str(r) for r in entry.get("roles") or ()),
            )
        )
    return found
