"""The one Client every page acts through, and the first-start demo seeding."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import streamlit as st

from zviz_core.access import AccessConfig
from zviz_core.client import Client
from zviz_core.errors import ZvizError
from zviz_core.settings import settings
from zviz_core.ui import auth
from zviz_core.ui.notices import md_escape

log = logging.getLogger("zviz.ui")


def _store_key() -> tuple[object, ...]:
    """The settings that decide which store a Client opens and as what: a cache key."""
    config = settings()
    return (
        config.HOME,
        config.STORE_URL,
        config.ARTIFACT_STORE,
        config.ARTIFACT_STORE_SHARED,
        config.AUTH_CONFIG,
        config.PROJECT,
    )


_demo_lock = threading.Lock()
_demo_checked: set[tuple[object, ...]] = set()


def current_user() -> str | None:
    """Return the logged-in username, or None when the app runs without login (the local owner)
    or nobody is logged in."""
    return auth.logged_in_user()


@st.cache_resource(show_spinner=False, max_entries=64)
def _client(
    user: str | None, config: str | None, env: tuple[object, ...], _access: AccessConfig | None
) -> Client:
    # `config` (the login config's digest) stands for `_access` in the cache key; `env` for the
    # variables Client reads itself.
    return Client(user=user, access=_access)


def get_client() -> Client:
    """Return the Client of this session's user: `Client(user=<logged-in user>, access=<the
    login config's rules>)`, or the local owner `Client()` when no login is configured.

    Never the owner while a login config is active: without a logged-in user the page stops
    (showing nothing of the store). Stops the page with a readable error if the store or the
    config cannot be used.
    """
    setup = auth.current_setup()
    user, access, digest = None, None, None
    if setup is not None:
        user = auth.logged_in_user(setup)
        if user is None:
            # Only reachable when a page runs without the entrypoint's gate.
            st.info("Log in to see this page.", icon=":material/lock:")
            st.stop()
        access, digest = setup.access, setup.digest
    try:
        return _client(user, digest, _store_key(), access)
    except ZvizError as exc:
        st.error(md_escape(str(exc)))
        st.stop()
        raise  # unreachable: st.stop() raises


def _progress_callback(bar: Any) -> Callable[[float, str], None]:
    """Turn the demo's `progress(fraction, text)` reports into a progress bar."""

    def report(fraction: float, text: str) -> None:
        try:
            bar.progress(min(max(float(fraction), 0.0), 1.0), text=text)
        except Exception:  # a progress display must never break the seeding
            log.debug("could not update the demo progress bar", exc_info=True)

    return report


def seed_demo_once() -> None:
    """Seed the demo into an empty store the first time this process sees that store.

    Does nothing when ZVIZ_DEMO=0 or while `zviz_core.demo` does not exist. The demo is written
    as the local owner: seeding is the app's own doing, not the visitor's.
    """
    if settings().DEMO is False:
        return
    key = _store_key()
    if key in _demo_checked:
        return
    with _demo_lock:
        if key in _demo_checked:
            return
        try:
            from zviz_core.demo import ensure_demo
        except ImportError:
            _demo_checked.add(key)
            return
        bar = st.progress(0.0, text="Preparing the demo (first start only)...")
        try:
            ensure_demo(Client(), progress=_progress_callback(bar))
        except ZvizError as exc:
            st.warning(f"The demo could not be prepared: {md_escape(str(exc))}")
        except Exception:
            log.exception("zviz: seeding the demo failed")
            st.warning("The demo could not be prepared; the app log has the details.")
        finally:
            bar.empty()
        _demo_checked.add(key)
