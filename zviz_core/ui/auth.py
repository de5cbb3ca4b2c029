"""The app's login gate (streamlit-authenticator), its config loader, and a CLI to add users.

`python -m zviz_core.ui.auth add-user .streamlit/auth.yaml bob --role viewer` adds a user (asking
for the password, storing its bcrypt hash); `python -m zviz_core.ui.auth hash-password` prints a hash.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import getpass
import hashlib
import json
import logging
import os
import secrets
import sys
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import streamlit as st
import yaml

from zviz_core.access import AccessConfig, AccessPolicy
from zviz_core.errors import ConfigError, ZvizError
from zviz_core.logins import LoginGuard, cookie_digest
from zviz_core.store.util import now as utc_now
from zviz_core.ui.notices import md_escape

if TYPE_CHECKING:
    from streamlit_authenticator import Authenticate

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
MAX_PASSWORD_BYTES = 72  # bcrypt refuses longer passwords
NEW_KEY_HINT = 'python -c "import secrets; print(secrets.token_urlsafe(32))"'

# streamlit-authenticator's session keys, and the one widget key the gate owns.
_AUTH_KEYS = ("name", "authentication_status", "username", "email", "roles", "logout")
LOGIN_FORM_KEY = "zviz-login"
LOGOUT_KEY = "zviz-logout"
# The digest of the login cookie this session is logged in with (never the cookie itself).
COOKIE_DIGEST_KEY = "zviz.auth.cookie"


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


def _demo_enabled() -> bool:
    """The demo's public logins apply as ZVIZ_DEMO says; unset, only on the embedded store."""
    raw = os.environ.get("ZVIZ_DEMO", "").strip().lower()
    if not raw:
        return not _team_store()
    return raw not in {"0", "false", "no", "off"}


def _find_config() -> tuple[str, str | dict[str, Any], dict[str, Any]] | None:
    """Return (source, YAML text or dict, secrets) of the config that applies, or None."""
    secret_values = _secrets()
    path = os.environ.get(ENV_CONFIG)
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
    if _demo_enabled():
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
            "[credentials] table); `python -m zviz_core.ui.auth add-user` makes one."
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
            "with: python -m zviz_core.ui.auth add-user CONFIG USERNAME --role ROLE"
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
                "bcrypt hash from: python -m zviz_core.ui.auth hash-password"
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
    key = os.environ.get(ENV_COOKIE_KEY) or secret_values.get(ENV_COOKIE_KEY) or cookie.get("key")
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
            "(python -m zviz_core.ui.auth hash-password).",
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
    cookie_env = (os.environ.get(ENV_COOKIE_KEY), secret_values.get(ENV_COOKIE_KEY))
    digest = _digest(raw, (source, *cookie_env))
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


def current_setup() -> AuthSetup | None:
    """Return the login configuration (None: no login, the local owner); on a config error show
    it and stop the script run, so the app never falls back to denying or allowing everything."""
    try:
        return load_setup()
    except ConfigError as exc:
        st.error(f"zviz cannot start: {md_escape(str(exc))}", icon=":material/lock:")
        st.stop()
        raise  # unreachable: st.stop() raises


def logged_in_user(setup: AuthSetup | None = None) -> str | None:
    """Return the username this session is logged in as, or None (not logged in, or the user no
    longer exists in the config)."""
    if st.session_state.get("authentication_status") is not True:
        return None
    user = st.session_state.get("username")
    if not user:
        return None
    setup = setup if setup is not None else load_setup()
    if setup is None or str(user) not in setup.credentials["usernames"]:
        return None
    return str(user)


# -- the gate ----------------------------------------------------------------------------------


def _authenticator(setup: AuthSetup, guard: LoginGuard) -> Authenticate:
    """One Authenticate per script run (it renders the cookie component; never cache it), its
    password check throttled by `guard`."""
    import streamlit_authenticator as stauth

    authenticator = stauth.Authenticate(
        copy.deepcopy(dict(setup.credentials)),  # the library mutates what it is given
        setup.cookie_name,
        setup.cookie_key,
        setup.cookie_expiry_days,
        auto_hash=False,
        login_sleep_time=0,
    )
    _guard_password_check(authenticator, setup, guard)
    return authenticator


def _login_guard() -> LoginGuard:
    """The login counters of the store every page uses (the owner client only reaches them;
    nothing of the store is shown through it)."""
    from zviz_core.client import Client

    return Client().logins()


def _client_address() -> str | None:
    # The TCP peer Streamlit saw (None on localhost). Forwarded-for headers are not used: any
    # client can write them, to dodge its own counter or to lock someone else out.
    try:
        address = st.context.ip_address
    except Exception:  # no client context (bare mode)
        return None
    return str(address) if address else None


def _guard_password_check(authenticator: Authenticate, setup: AuthSetup, guard: LoginGuard) -> None:
    """Wrap the library's password check (its form and session handling stay as they are):
    refuse attempts while the user or address is locked out, count failures in the store, and
    spend the same bcrypt work on an unknown username as on a known one."""
    from streamlit_authenticator.utilities import Hasher, LoginError

    model = authenticator.authentication_controller.authentication_model
    check = model.check_credentials

    # The demo prints its passwords on the login page: a lockout there protects nothing and
    # would let one visitor lock every other visitor out of a demo user.
    throttled = not setup.is_demo

    def guarded(username: str, password: str) -> bool:
        address = _client_address()
        refusal = guard.begin_attempt(username, address) if throttled else None
        if refusal is not None:
            raise LoginError(refusal.message)
        if username in model.credentials["usernames"]:
            ok = bool(check(username, password))
        else:
            # As in the library's own check, a password bcrypt refuses (too long) is just wrong.
            with contextlib.suppress(TypeError, ValueError):
                Hasher.check_pw(password, setup.dummy_hash)
            ok = False
        if ok and throttled:
            guard.attempt_succeeded(username, address)
        return ok

    model.check_credentials = guarded


# The cookie manager is an invisible component frame, but its element still takes a row (and a
# gap) at the top of every page. Style-only st.html takes no room itself.
_HIDE_COOKIE_FRAMES = (
    "<style>div[data-testid=stElementContainer]:has(iframe[title^="
    '"extra_streamlit_components.CookieManager"]) {display: none;}</style>'
)


def _forget_user() -> None:
    for key in _AUTH_KEYS:
        if key != "logout":
            st.session_state[key] = None


def _clear_app_state(_: Any = None) -> None:
    """Drop what the last user left in session state (dialogs, form drafts), keeping the gate's."""
    for key in list(st.session_state.keys()):
        if str(key).startswith("zviz.") and not str(key).startswith("zviz.auth"):
            del st.session_state[key]


def _browser_cookie(setup: AuthSetup) -> str | None:
    """The login cookie the browser sent when this session connected (what the library reads)."""
    try:
        token = st.context.cookies.get(setup.cookie_name)
    except Exception:  # no client context (bare mode)
        return None
    return token if isinstance(token, str) and token else None


def _refuse_cookie() -> None:
    _forget_user()
    st.session_state.pop(COOKIE_DIGEST_KEY, None)
    # The library reads the cookie again when it draws the form; this flag makes it skip the
    # cookie for the rest of the session (a new login overwrites the cookie).
    st.session_state["logout"] = True


def _silent_login(authenticator: Authenticate, setup: AuthSetup, guard: LoginGuard) -> None:
    """Log in from a valid cookie without drawing anything; a bad, revoked or unlisted cookie
    means logged out. A session logged in with a cookie that has since been revoked (logged out
    in the browser it was copied from) is logged out at its next run."""
    was_in = st.session_state.get("authentication_status") is True
    try:
        authenticator.login(location="unrendered", key=LOGIN_FORM_KEY)
    except Exception as exc:  # a forged, stale or foreign cookie must not break the page
        log.info("zviz: cookie login refused: %s", exc)
        _refuse_cookie()
    if st.session_state.get("authentication_status") and logged_in_user(setup) is None:
        _forget_user()  # the user was removed from the config since the cookie was issued
    user = logged_in_user(setup)
    if user is None:
        return
    if was_in:
        digest = st.session_state.get(COOKIE_DIGEST_KEY)
        if digest and not guard.cookie_is_live(digest, user):
            log.info("zviz: the login cookie of %s was revoked; logging the session out", user)
            _refuse_cookie()
        return
    # Logged in by the cookie just now: the library accepts any cookie signed with the key, so
    # it must also be one the server issued and has not revoked.
    token = _browser_cookie(setup)
    digest = cookie_digest(token) if token else None
    if digest is None or not guard.cookie_is_live(digest, user):
        log.info("zviz: refused a login cookie for %s that is revoked or was never issued", user)
        _refuse_cookie()
        return
    st.session_state[COOKIE_DIGEST_KEY] = digest


def _list_new_cookie(authenticator: Authenticate, setup: AuthSetup, guard: LoginGuard) -> None:
    """List the cookie the library has just issued for a form login, so that later cookie
    logins with it are accepted (until logout). Without a listed cookie the user simply logs in
    again after a reload: this fails closed."""
    import jwt

    user = logged_in_user(setup)
    if user is None or setup.cookie_expiry_days == 0:
        return  # expiry 0: the library writes no cookie
    # The library keeps the token only in its cookie manager, as sent to the browser this run.
    manager = authenticator.cookie_controller.cookie_model.cookie_manager
    token = (getattr(manager, "cookies", None) or {}).get(setup.cookie_name)
    issued_after = utc_now().timestamp() + setup.cookie_expiry_days * 86400 - 600
    try:
        claims = jwt.decode(str(token), setup.cookie_key, algorithms=["HS256"])
        fresh = claims.get("username") == user and float(claims["exp_date"]) > issued_after
    except (jwt.PyJWTError, KeyError, TypeError, ValueError):
        fresh = False
    if not fresh:  # not the token of this login (the library changed): never list a stale one
        log.warning("zviz: could not find the login cookie just issued to %s; not listed", user)
        return
    digest = cookie_digest(str(token))
    guard.remember_cookie(digest, user, utc_now() + timedelta(days=setup.cookie_expiry_days))
    st.session_state[COOKIE_DIGEST_KEY] = digest


def _on_logout(setup: AuthSetup, guard: LoginGuard) -> Any:
    """The logout callback: revoke this browser's cookie on the server, then clear app state."""

    def revoke(_: Any = None) -> None:
        digests = {st.session_state.get(COOKIE_DIGEST_KEY)}
        if token := _browser_cookie(setup):
            digests.add(cookie_digest(token))
        for digest in digests - {None}:
            try:
                guard.revoke_cookie(str(digest))
            except ZvizError as exc:  # logged out here anyway; say the cookie may still work
                log.error("zviz: could not revoke a login cookie: %s", exc)
                st.session_state[_REVOKE_FAILED_KEY] = str(exc)
        st.session_state.pop(COOKIE_DIGEST_KEY, None)
        _clear_app_state()

    return revoke


_REVOKE_FAILED_KEY = "zviz.auth.revoke-failed"
_synced: set[tuple[str, str]] = set()
_synced_lock = threading.Lock()


def _revoke_removed_users(setup: AuthSetup, guard: LoginGuard) -> None:
    """Once per config content and store in this process: unlist the cookies of users the
    config no longer has, so they stay dead even if the name comes back."""
    key = (guard.location, setup.digest)
    with _synced_lock:
        if key in _synced:
            return
    gone = guard.revoke_users_except(setup.credentials["usernames"])
    if gone:
        log.info("zviz: revoked the login cookies of removed users %s", ", ".join(gone))
    with _synced_lock:
        if len(_synced) > 64:
            _synced.clear()
        _synced.add(key)


def _sidebar_user(authenticator: Authenticate, setup: AuthSetup, guard: LoginGuard) -> None:
    from zviz_core.ui.notices import md_escape

    username = str(st.session_state.get("username"))
    # From the config as it is now, not as it was at login: an admin may have changed the roles.
    entry = setup.credentials["usernames"].get(username, {})
    name = str(entry.get("name") or st.session_state.get("name") or username)
    roles = [str(r) for r in (entry.get("roles") or [])]
    with st.sidebar:
        box = st.container(border=True, key="zviz-auth-user")
        box.markdown(f":material/account_circle: **{md_escape(name)}**")
        box.caption(f"Logged in as `{md_escape(username)}`")
        if roles:
            badges = box.container(horizontal=True, gap="small")
            for role in roles:
                badges.badge(md_escape(role), color="violet", width="content")
        else:
            box.caption("No roles: you see nothing until an admin grants you some.")
        if setup.is_demo:
            box.caption("Demo login: these passwords are public.")
        with box:
            authenticator.logout(
                "Log out",
                location="main",
                key=LOGOUT_KEY,
                use_container_width=True,
                callback=_on_logout(setup, guard),
            )


def _owner_note() -> None:
    with st.sidebar:
        st.caption(
            ":material/lock_open: No login configured: you are the local owner and see "
            f"everything. Set {ENV_CONFIG} or add {LOCAL_CONFIG} to require login."
        )


def _page_url_path(page: st.Page) -> str:
    # Streamlit identifies a page by its url_path (the default page keeps its inferred one),
    # so the login twin must carry the same one for the URL to survive the login.
    return str(getattr(page, "_url_path", page.url_path))


def _login_twin(
    page: st.Page, authenticator: Authenticate, setup: AuthSetup, guard: LoginGuard
) -> st.Page:
    def show() -> None:
        login_page(authenticator, setup, guard, target=page.title)

    show.__name__ = f"login_{_page_url_path(page) or 'home'}"
    return st.Page(
        show,
        title="Log in",
        icon=":material/login:",
        url_path=_page_url_path(page),
        default=bool(getattr(page, "_default", False)),
    )


def navigation(pages: Callable[[AccessPolicy | None], list[st.Page]], **kwargs: Any) -> st.Page:
    """Gate the app and return the page to run: the requested page when logged in (or when no
    login is configured), else a login form registered under every page URL, so that a deep link
    opens after login. `pages(policy)` builds the pages for the user's access policy (None: the
    local owner, or the login twins of every page). Call before anything else that renders;
    `kwargs` go to st.navigation."""
    setup = current_setup()
    if setup is None:
        _owner_note()
        return st.navigation(pages(None), **kwargs)
    try:
        guard = _login_guard()
        _revoke_removed_users(setup, guard)
        authenticator = _authenticator(setup, guard)
        st.html(_HIDE_COOKIE_FRAMES)
        _silent_login(authenticator, setup, guard)
        if logged_in_user(setup):
            _sidebar_user(authenticator, setup, guard)  # the logout button may log out here
    except ZvizError as exc:  # the store holds the login state: without it, nobody gets in
        st.error(f"zviz cannot check logins: {md_escape(str(exc))}", icon=":material/lock:")
        st.stop()
    if user := logged_in_user(setup):
        return st.navigation(pages(setup.access.policy_for(user)), **kwargs)
    twins = [_login_twin(page, authenticator, setup, guard) for page in pages(None)]
    return st.navigation(twins, position="hidden")


def login_page(
    authenticator: Authenticate,
    setup: AuthSetup,
    guard: LoginGuard | None = None,
    target: str | None = None,
) -> None:
    """Draw the login form (and, for the demo, its users), then stop the run: nothing after the
    gate renders for a visitor who is not logged in. A throttled attempt shows when to try
    again; a store that cannot be used shows its error (and nobody logs in)."""
    guard = guard if guard is not None else _login_guard()
    from streamlit_authenticator.utilities import LoginError

    _, middle, _ = st.columns([1, 3, 1])
    with middle:
        st.title(":material/insights: zviz", anchor=False)
        st.caption("See what your ML pipelines produced. Log in to continue.")
        if target and target != "Overview":
            st.info(f"Log in to open **{target}**.", icon=":material/link:")
        try:
            authenticator.login(
                location="main",
                key=LOGIN_FORM_KEY,
                fields={
                    "Form name": "Log in",
                    "Username": "Username",
                    "Password": "Password",
                    "Login": "Log in",
                },
            )
        except (LoginError, ZvizError) as exc:
            st.session_state["authentication_status"] = None  # one message, not two
            st.error(str(exc), icon=":material/error:")
        if failed := st.session_state.pop(_REVOKE_FAILED_KEY, None):
            st.warning(
                f"Logged out here, but the server could not revoke this browser's login cookie "
                f"({failed}). Clear this site's cookies if others can use this browser.",
                icon=":material/warning:",
            )
        status = st.session_state.get("authentication_status")
        if status is True:
            try:
                _list_new_cookie(authenticator, setup, guard)
            except ZvizError as exc:  # the login stands; only reload-without-password is lost
                log.error("zviz: could not list a login cookie: %s", exc)
            # No st.rerun() here: it can cut off the cookie component before the browser stores
            # the cookie. The component's own reply starts the next run, which opens the page;
            # the button is for a browser where that does not happen.
            st.success("Logged in. Opening the page...", icon=":material/check_circle:")
            if setup.cookie_expiry_days == 0:
                st.rerun()  # no cookie is written, so nothing else triggers the next run
            st.button("Continue", key="zviz-auth-continue", type="primary")
        elif status is False:
            st.error("Wrong username or password.", icon=":material/error:")
        if setup.is_demo:
            _demo_users()
    st.stop()


def _demo_users() -> None:
    from zviz_core.demo import DEMO_AUTH_CONFIG, DEMO_USERS

    users = DEMO_AUTH_CONFIG["credentials"]["usernames"]
    st.subheader("Demo users", anchor=False)
    st.caption(
        "This is a public demo: log in as two of them (two browsers, or one after the other) "
        "and compare what each one sees."
    )
    for column, (username, password, sees) in zip(
        st.columns(len(DEMO_USERS)), DEMO_USERS, strict=True
    ):
        with column.container(border=True, height="stretch"):
            st.markdown(f"**{users.get(username, {}).get('name', username)}**")
            st.markdown(f"Username `{username}`  \nPassword `{password}`")
            st.caption(sees)


# -- command line: add users, hash passwords ----------------------------------------------------

_NEW_CONFIG = """\
# zviz login and access rules (read by streamlit-authenticator and by zviz).
# Keep this file out of git. Add users with:
#   python -m zviz_core.ui.auth add-user {path} USERNAME --role viewer
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


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Repeat it: ") != first:
        raise ValueError("The two passwords differ.")
    return first


def _add_user(args: argparse.Namespace) -> int:
    path = Path(args.config)
    username = args.username.strip().lower()
    if not username or any(c.isspace() for c in username):
        print("A username must be one word.", file=sys.stderr)
        return 2
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if not text.strip():
        text = _NEW_CONFIG.format(path=path, key=secrets.token_urlsafe(32))
    password = hash_password(_read_password(args.password_stdin))
    existing = (((yaml.safe_load(text) or {}).get("credentials") or {}).get("usernames") or {}).get(
        username
    ) or {}
    entry = {
        "name": args.name or existing.get("name") or username.title(),
        "email": args.email or existing.get("email") or f"{username}@example.com",
        "password": password,
        "roles": list(args.role) if args.role else list(existing.get("roles") or []),
    }
    new_text = upsert_user(text, username, entry)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(new_text, encoding="utf-8")
    os.chmod(tmp, 0o600)
    tmp.replace(path)
    verb = "Updated" if existing else "Added"
    print(f"{verb} {username} ({', '.join(entry['roles']) or 'no roles'}) in {path}.")
    return 0


def main(argv: list[str] | None = None) -> int:
    """The command line: `add-user CONFIG USERNAME --role R` or `hash-password`; returns the
    exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m zviz_core.ui.auth", description="Manage zviz's login users."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    add = sub.add_parser(
        "add-user",
        help="add a user (or set a user's password) in an auth YAML, asking for the password",
    )
    add.add_argument("config", help="the auth YAML, e.g. .streamlit/auth.yaml (created if absent)")
    add.add_argument("username")
    add.add_argument("--role", action="append", help="a role from access.roles (repeatable)")
    add.add_argument("--name", help="display name (default: the username)")
    add.add_argument("--email")
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    hp = sub.add_parser("hash-password", help="print the bcrypt hash of a password")
    hp.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    args = parser.parse_args(argv)
    try:
        if args.command == "add-user":
            return _add_user(args)
        print(hash_password(_read_password(args.password_stdin)))
        return 0
    except (ValueError, ConfigError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
