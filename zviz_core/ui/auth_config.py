"""The login configuration: find the auth YAML (or Streamlit secrets, or the demo's users),
validate it, hash plain passwords once, and settle the cookie key."""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import secrets
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st
import yaml

from zviz_core.access import AccessConfig
from zviz_core.errors import ConfigError
from zviz_core.settings import settings

log = logging.getLogger("zviz.ui")

ENV_CONFIG = "ZVIZ_AUTH_CONFIG"
ENV_COOKIE_KEY = "ZVIZ_COOKIE_KEY"
LOCAL_CONFIG = Path(".streamlit") / "auth.yaml"
DEFAULT_COOKIE_NAME = "zviz_auth"
DEFAULT_EXPIRY_DAYS = 7.0
MIN_COOKIE_KEY_LENGTH = 16
# .streamlit/secrets.toml.example's key starts with this; such keys are public, so refused.
EXAMPLE_KEY_PREFIX = "change-me"
_PUBLIC_KEYS = frozenset({"some_key", "some_signature_key", "random_signature_key"})
NEW_KEY_HINT = 'python -c "import secrets; print(secrets.token_urlsafe(32))"'


@dataclass(frozen=True)
class AuthSetup:
    """A validated login configuration: hashed credentials, cookie settings and access rules."""

    credentials: Mapping[str, Any]
    cookie_name: str
    cookie_key: str
    cookie_expiry_days: float
    access: AccessConfig
    source: str
    is_demo: bool
    digest: str
    # A bcrypt hash of nothing, at the cost most users' hashes have: checked for an unknown
    # username, so that it takes as long as a wrong password.
    dummy_hash: str = ""


# -- finding and validating the config ----------------------------------------------------------


def _secrets() -> dict[str, Any]:
    """Return Streamlit's secrets as a plain dict; empty when there is no secrets file."""
    from streamlit.errors import StreamlitSecretNotFoundError

    try:
        return copy.deepcopy(st.secrets.to_dict())
    except (StreamlitSecretNotFoundError, FileNotFoundError):
        return {}
    except Exception as exc:  # a broken secrets.toml is a config error, not a crash
        raise ConfigError(f"Streamlit secrets cannot be read: {exc}") from exc


def _team_store() -> bool:
    from zviz_core.store import store_url

    return store_url() is not None


def _cookie_key(secret_values: Mapping[str, Any]) -> str | None:
    key = settings(secret_values).COOKIE_KEY
    return key.get_secret_value() if key is not None else None


def _find_config() -> tuple[str, str | dict[str, Any], dict[str, Any]] | None:
    """Return (source, YAML text or dict, secrets) of the config that applies, or None."""
    secret_values = _secrets()
    config = settings(secret_values)
    path = config.AUTH_CONFIG
    if path:
        try:
            return path, Path(path).expanduser().read_text(encoding="utf-8"), secret_values
        except OSError as exc:
            raise ConfigError(
                f"{ENV_CONFIG} names {path}, which cannot be read ({exc.strerror}). Fix the path "
                f"or unset {ENV_CONFIG}."
            ) from exc
    local = Path.cwd() / LOCAL_CONFIG
    if local.is_file():
        return str(LOCAL_CONFIG), local.read_text(encoding="utf-8"), secret_values
    if "credentials" in secret_values:
        return "Streamlit secrets", secret_values, secret_values
    if config.demo_enabled(_team_store()):
        try:
            from zviz_core.demo import demo_auth_config
        except ImportError as exc:
            raise ConfigError(
                f"The demo's logins cannot be loaded ({exc}). Set ZVIZ_DEMO=0, or give the app a "
                f"login config ({ENV_CONFIG} or {LOCAL_CONFIG})."
            ) from exc
        return "demo", demo_auth_config(), secret_values
    if _team_store():
        # A team store is shared: neither the demo's public passwords nor the no-login owner.
        raise ConfigError(
            "This app reads a team store (ZVIZ_STORE_URL) but has no login config. Give it "
            f"users and access rules ({ENV_CONFIG}, {LOCAL_CONFIG} or Streamlit secrets with a "
            "[credentials] table); `zviz users add` makes one."
        )
    return None


def _digest(raw: str | dict[str, Any], extra: tuple[Any, ...]) -> str:
    body = raw if isinstance(raw, str) else json.dumps(raw, sort_keys=True, default=str)
    return hashlib.sha256(json.dumps([body, *map(str, extra)]).encode()).hexdigest()


def _line_of(root: yaml.Node | None, *path: str) -> str:
    """'line N' of the node at `path` in a composed YAML document, or '' when absent."""
    node = root
    for key in path:
        if not isinstance(node, yaml.MappingNode):
            return ""
        node = next((v for k, v in node.value if str(k.value).strip().lower() == key), None)
    return f" line {node.start_mark.line + 1}" if node is not None else ""


def _check_credentials(data: dict[str, Any], root: yaml.Node | None, source: str) -> None:
    usernames = (data.get("credentials") or {}).get("usernames") or {}
    if not usernames:
        raise ConfigError(
            f"{source}: credentials.usernames lists no users, so nobody could log in. Add one "
            "with: zviz users add USERNAME --role ROLE --config CONFIG"
        )
    for name, user in usernames.items():
        where = f"{source}{_line_of(root, 'credentials', 'usernames', str(name).strip().lower())}"
        if not isinstance(user, dict):
            raise ConfigError(f"{where}: user {name!r} must be a mapping with name and password.")
        password = user.get("password")
        if not isinstance(password, str) or not password.strip():
            raise ConfigError(f"{where}: user {name!r} has no password.")
        if password.startswith("<") and password.endswith(">"):
            raise ConfigError(
                f"{where}: the password of {name!r} is still the example placeholder; set a "
                "bcrypt hash from: zviz users hash-password"
            )


def _cookie(
    data: dict[str, Any], secret_values: dict[str, Any], source: str, is_demo: bool
) -> tuple[str, str, float]:
    cookie = data.get("cookie") or {}
    if not isinstance(cookie, dict):
        raise ConfigError(f"{source}: cookie must be a mapping with name, key and expiry_days.")
    name = str(cookie.get("name") or DEFAULT_COOKIE_NAME)
    try:
        days = float(cookie.get("expiry_days", DEFAULT_EXPIRY_DAYS))
    except (TypeError, ValueError):
        raise ConfigError(f"{source}: cookie.expiry_days must be a number of days.") from None
    if days < 0:
        raise ConfigError(f"{source}: cookie.expiry_days must not be negative.")
    key = _cookie_key(secret_values) or cookie.get("key")
    key = str(key).strip() if key else ""
    if is_demo:
        return name, key, days
    from zviz_core.demo import DEMO_COOKIE_KEY

    if not key:
        raise ConfigError(
            f"No cookie key: set {ENV_COOKIE_KEY} in the environment or in Streamlit secrets to a "
            f"long random string ({NEW_KEY_HINT}). The app does not start without one."
        )
    if key == DEMO_COOKIE_KEY or key in _PUBLIC_KEYS or key.lower().startswith(EXAMPLE_KEY_PREFIX):
        raise ConfigError(
            "The cookie key is a public example (or the demo's) key: anyone could forge a login "
            f"cookie with it. Set {ENV_COOKIE_KEY} to a long random string ({NEW_KEY_HINT}); the "
            "app refuses to start until then."
        )
    if len(key) < MIN_COOKIE_KEY_LENGTH:
        raise ConfigError(
            f"The cookie key is shorter than {MIN_COOKIE_KEY_LENGTH} characters, short enough to "
            f"guess from a login cookie. Set {ENV_COOKIE_KEY} to a long random string "
            f"({NEW_KEY_HINT})."
        )
    return name, key, days


_prepared: dict[str, AuthSetup] = {}
_prepared_lock = threading.Lock()


def _prepare(source: str, raw: str | dict[str, Any], secret_values: dict[str, Any]) -> AuthSetup:
    is_demo = source == "demo"
    if isinstance(raw, str):
        access = AccessConfig.from_yaml(raw, source=source)  # names the line of a problem
        data = yaml.safe_load(raw) or {}
        root = yaml.compose(raw)
    else:
        access = AccessConfig.from_dict(raw, source=source)
        data, root = raw, None
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the config must be a mapping.")
    _check_credentials(data, root, source)
    cookie_name, cookie_key, days = _cookie(data, secret_values, source, is_demo)
    users: dict[str, Any] = {}
    plain: list[str] = []
    from streamlit_authenticator import Hasher

    for name, user in data["credentials"]["usernames"].items():
        entry = copy.deepcopy(user)
        if not Hasher.is_hash(entry["password"]):
            # Hashed once per config content here, so the authenticator runs with auto_hash off.
            entry["password"] = Hasher.hash(entry["password"])
            plain.append(str(name))
        entry["roles"] = list(entry.get("roles") or [])
        users[str(name).strip().lower()] = entry
    if plain:
        log.warning(
            "zviz: %s holds plain-text passwords for %s; store bcrypt hashes instead "
            "(zviz users hash-password).",
            source,
            ", ".join(plain),
        )
    return AuthSetup(
        credentials={"usernames": users},
        cookie_name=cookie_name,
        cookie_key=cookie_key,
        cookie_expiry_days=days,
        access=access,
        source=source,
        is_demo=is_demo,
        digest="",
        dummy_hash=_dummy_hash(users),
    )


def _dummy_hash(users: Mapping[str, Any]) -> str:
    import bcrypt

    costs = Counter(
        int(str(u["password"])[4:6])
        for u in users.values()
        if str(u["password"])[:4] in ("$2a$", "$2b$", "$2y$") and str(u["password"])[4:6].isdigit()
    )
    cost = costs.most_common(1)[0][0] if costs else 12
    return bcrypt.hashpw(secrets.token_bytes(16), bcrypt.gensalt(rounds=cost)).decode()


def load_setup() -> AuthSetup | None:
    """Return the login configuration that applies, or None to run as the local owner.

    First match wins: the YAML file named by $ZVIZ_AUTH_CONFIG, `.streamlit/auth.yaml` in the
    working directory, Streamlit secrets holding a `credentials` table, then (unless $ZVIZ_DEMO is
    0) the demo's users. The cookie key comes from $ZVIZ_COOKIE_KEY, else the secret
    `ZVIZ_COOKIE_KEY`, else the config's `cookie.key`. Plain-text passwords are hashed once per
    config content (cached). Raises ConfigError naming the file and line for a malformed config,
    and for a missing, short or public cookie key (the demo's own key is accepted for the demo).
    """
    found = _find_config()
    if found is None:
        return None
    source, raw, secret_values = found
    digest = _digest(raw, (source, _cookie_key(secret_values)))
    with _prepared_lock:
        setup = _prepared.get(digest)
    if setup is None:
        setup = _prepare(source, raw, secret_values)
        setup = AuthSetup(**{**setup.__dict__, "digest": digest})
        with _prepared_lock:
            if len(_prepared) > 16:
                _prepared.clear()
            _prepared[digest] = setup
    return setup
