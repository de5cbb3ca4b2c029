"""The one Client every page acts through, and the first-start demo seeding."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

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


class _Seeding:
    """The demo being seeded into one store, on a thread of its own: a rerun (a click, or the
    login cookie's reply on a first visit) interrupts the script run that shows the progress,
    never the seeding, which would otherwise stop half done and never be tried again."""

    def __init__(self, ensure_demo: Callable[..., bool]) -> None:
        self.fraction, self.text = 0.0, "Preparing the demo (first start only)..."
        self.warning: str | None = None
        self.seeding = False  # the store was empty: the demo is being written
        self.begun, self.done = threading.Event(), threading.Event()
        threading.Thread(
            target=self._run, args=(ensure_demo,), name="zviz-demo-seed", daemon=True
        ).start()

    def _report(self, fraction: float, text: str) -> None:
        self.fraction, self.text = min(max(float(fraction), 0.0), 1.0), text
        self.seeding = True
        self.begun.set()

    def _run(self, ensure_demo: Callable[..., bool]) -> None:
        try:
            ensure_demo(Client(), progress=self._report)
        except ZvizError as exc:
            self.warning = f"The demo could not be prepared: {md_escape(str(exc))}"
        except Exception:
            log.exception("zviz: seeding the demo failed")
            self.warning = "The demo could not be prepared; the app log has the details."
        finally:
            self.done.set()
            self.begun.set()


_seeding: dict[tuple[object, ...], _Seeding] = {}


def seed_demo_once() -> None:
    """Seed the demo into an empty store the first time this process sees that store, showing
    its progress, then start the script run again so the page draws as on any later run.

    Does nothing when ZVIZ_DEMO=0 or while `zviz_core.demo` does not exist. The demo is written
    as the local owner: seeding is the app's own doing, not the visitor's. Sessions that arrive
    while it runs show the same progress; the seeding survives their reruns.
    """
    if settings().DEMO is False:
        return
    key = _store_key()
    if key in _demo_checked:
        return
    with _demo_lock:
        if key in _demo_checked:
            return
        job = _seeding.get(key)
        if job is None:
            try:
                from zviz_core.demo import ensure_demo
            except ImportError:
                _demo_checked.add(key)
                return
            job = _seeding[key] = _Seeding(ensure_demo)
    job.begun.wait()  # until the store is found empty (progress comes) or the job has ended
    shown = job.seeding
    if shown:
        bar = st.progress(job.fraction, text=job.text)
        while not job.done.wait(0.1):
            bar.progress(job.fraction, text=job.text)
        bar.empty()
    with _demo_lock:
        _demo_checked.add(key)
        _seeding.pop(key, None)
    if job.warning is not None:
        st.warning(job.warning)
    elif shown:
        # The page below would be drawn one place lower than on every later run, and Streamlit
        # keeps an element drawn at an old place until the run after has ended: a login form
        # would show twice while the login cookie's reply reruns the page.
        st.rerun()
