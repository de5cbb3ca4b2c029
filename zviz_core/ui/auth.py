"""The app's login gate (streamlit-authenticator): silent cookie login, the login form under
every page URL, the sidebar's user box and logout. The config it applies comes from
`auth_config`; `zviz users` (zviz_core/users.py) edits the users."""

from __future__ import annotations

import contextlib
import copy
import logging
import sys
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import streamlit as st

from zviz_core.access import AccessPolicy
from zviz_core.errors import ConfigError, ZvizError
from zviz_core.logins import LoginGuard, cookie_digest
from zviz_core.store.util import now as utc_now
from zviz_core.ui.auth_config import (  # noqa: F401  (names other modules and tests use)
    ENV_CONFIG,
    EXAMPLE_KEY_PREFIX,
    LOCAL_CONFIG,
    AuthSetup,
    load_setup,
)
from zviz_core.ui.notices import md_escape
from zviz_core.users import hash_password  # noqa: F401

if TYPE_CHECKING:
    from streamlit_authenticator import Authenticate

log = logging.getLogger("zviz.ui")

# streamlit-authenticator's session keys, and the one widget key the gate owns.
_AUTH_KEYS = ("name", "authentication_status", "username", "email", "roles", "logout")
LOGIN_FORM_KEY = "zviz-login"
LOGOUT_KEY = "zviz-logout"
# The digest of the login cookie this session is logged in with (never the cookie itself).
COOKIE_DIGEST_KEY = "zviz.auth.cookie"


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


_TAGLINE_KEY = "zviz-login-tagline"
_TAGLINE_STYLE = (
    f"<style>.st-key-{_TAGLINE_KEY} h2 {{font-size: 0.875rem; font-weight: 400; "
    "color: rgba(49, 51, 63, 0.75); padding: 0 0 0.5rem; line-height: 1.5;}</style>"
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
        # The form names itself with an h3: the line under the title is the h2 between them,
        # drawn as the caption it reads as.
        st.html(_TAGLINE_STYLE)
        st.container(key=_TAGLINE_KEY).header(
            "See what your ML pipelines produced. Log in to continue.", anchor=False
        )
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
    st.subheader("Demo users", anchor=False)  # beside the form's own h3
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


if __name__ == "__main__":
    from zviz_core.cli import legacy_auth_main

    sys.exit(legacy_auth_main(sys.argv[1:]))
