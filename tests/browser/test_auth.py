"""Login, cookies, deep links, two users at once, and untrusted HTML, in Chromium."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
import yaml

from tests.browser.conftest import (
    Server,
    _app_cwd,
    log_in,
    log_out,
    login_form_shown,
    main_text,
    no_exception_shown,
    open_url,
    settle,
    start_server,
    stop_server,
)
from zviz_testing.world import COOKIE_KEY, USERS, auth_config, hash_passwords

pytestmark = pytest.mark.browser
COOKIE = "zviz_test_auth"


def _login(page: Any, username: str) -> None:
    user = USERS[username]
    log_in(page, user.username, user.password, user.name)


def _auth_cookie(context: Any) -> str | None:
    return next((c["value"] for c in context.cookies() if c["name"] == COOKIE), None)


def _attack_status(page: Any, timeout_s: float = 20.0) -> str:
    """The text the attack script wrote into its own document, found in whichever frame it runs."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for frame in page.frames:
            try:
                status = frame.locator("#attack-status")
                if status.count() and (text := status.inner_text(timeout=500)).startswith("ran"):
                    return str(text)
            except Exception:  # frames come and go while Streamlit renders
                continue
        page.wait_for_timeout(200)
    raise AssertionError("the attack script never ran inside its frame")


def test_an_html_artifact_cannot_reach_the_app_page(secured_app: Server, new_context) -> None:
    world = secured_app.info["world"]
    context = new_context()
    page = context.new_page()
    open_url(page, secured_app.url)
    _login(page, "admin")
    cookie = _auth_cookie(context)
    assert cookie, "logging in sets the re-login cookie"

    target = f"{secured_app.url}/pipelines?id={world.side_id}"
    open_url(page, target)
    status = _attack_status(page)
    settle(page)

    # The script ran, in its sandbox, and reached nothing of the app.
    assert "parent blocked" in status and "top blocked" in status, status
    assert cookie not in status
    assert "PWNED" not in page.title()
    assert page.locator("#zviz-pwned").count() == 0
    assert page.locator("#zviz-pwned-top").count() == 0
    assert page.url == target
    assert _auth_cookie(context) == cookie
    assert "zviz_stolen" not in {c["name"] for c in context.cookies()}
    assert page.evaluate("() => window.localStorage.getItem('zviz-pwned')") is None
    # Markdown and tile names with <script> and onerror= are shown as text, never run.
    flags = page.evaluate(
        "() => ['__zviz_pwned_md', '__zviz_pwned_md_img', '__zviz_pwned_name',"
        " '__zviz_pwned_name_img'].filter((k) => window[k] !== undefined)"
    )
    assert flags == []
    text = main_text(page)
    assert "<script>window.__zviz_pwned_name=1</script>" in text
    assert "Side notes" in text and "plain text after" in text
    assert not no_exception_shown(page)


def test_the_cookie_keeps_the_session_across_a_reload(secured_app: Server, new_context) -> None:
    page = new_context().new_page()
    open_url(page, f"{secured_app.url}/runs")
    _login(page, "alice")
    page.reload()
    settle(page, 1000)
    assert not login_form_shown(page)
    assert "Alice Analyst" in page.inner_text("[data-testid=stSidebar]")
    assert secured_app.info["world"].everything_run.name in main_text(page)


@pytest.mark.parametrize(
    "token",
    [
        jwt.encode({"username": "admin", "exp_date": time.time() + 9e5}, "wrong-key-" * 4),
        jwt.encode({"username": "admin", "exp_date": time.time() + 9e5}, None, algorithm="none"),
        jwt.encode({"username": "admin", "exp_date": time.time() - 10}, COOKIE_KEY),
        jwt.encode({"username": "mallory", "exp_date": time.time() + 9e5}, COOKIE_KEY),
        # Signed with the real key (a leaked key) but never issued by the server.
        jwt.encode({"username": "admin", "exp_date": time.time() + 9e5}, COOKIE_KEY),
        "not-a-token",
    ],
    ids=["wrong-key", "alg-none", "expired", "unknown-user", "right-key-never-issued", "garbage"],
)
def test_a_forged_or_stale_cookie_gets_the_login_form(
    secured_app: Server, new_context, token: str
) -> None:
    context = new_context()
    context.add_cookies([{"name": COOKIE, "value": token, "url": secured_app.url}])
    page = context.new_page()
    open_url(page, f"{secured_app.url}/runs")
    assert login_form_shown(page)
    assert not no_exception_shown(page)
    assert secured_app.info["world"].everything_run.name not in main_text(page)


def test_a_deep_link_opens_after_login(secured_app: Server, new_context) -> None:
    run = secured_app.info["world"].everything_run
    page = new_context().new_page()
    target = f"{secured_app.url}/runs?id={run.id}"
    open_url(page, target)
    assert login_form_shown(page)
    assert run.name not in main_text(page)
    _login(page, "alice")
    assert page.url == target
    assert not login_form_shown(page)
    assert run.name in main_text(page)


def test_two_users_at_once_see_their_own_dashboards(secured_app: Server, new_context) -> None:
    world = secured_app.info["world"]
    admin, alice = new_context().new_page(), new_context().new_page()
    for page, user in ((admin, "admin"), (alice, "alice")):
        open_url(page, secured_app.url)
        _login(page, user)
    assert "Project report" in main_text(admin)
    assert "Project report" not in main_text(alice)

    for page in (admin, alice):
        open_url(page, f"{secured_app.url}/runs")
    assert world.side_run.name in main_text(admin)
    assert world.everything_run.name in main_text(admin)
    assert world.side_run.name not in main_text(alice)
    assert world.everything_run.name in main_text(alice)

    log_out(admin)
    open_url(admin, f"{secured_app.url}/runs")
    assert login_form_shown(admin)
    assert world.side_run.name not in main_text(admin)
    alice.reload()
    settle(alice, 1000)
    assert not login_form_shown(alice), "one user's logout leaves the other logged in"
    assert world.everything_run.name in main_text(alice)


# -- revocation: a copied cookie stops working ---------------------------------------------------


def _with_cookie(new_context, server: Server, token: str) -> Any:
    """A new browser profile holding only `token` as its login cookie, opened on /runs."""
    context = new_context()
    context.add_cookies([{"name": COOKIE, "value": token, "url": server.url}])
    page = context.new_page()
    open_url(page, f"{server.url}/runs")
    return page


def test_a_copied_cookie_is_dead_after_logout(secured_app: Server, new_context) -> None:
    run = secured_app.info["world"].everything_run
    context = new_context()
    page = context.new_page()
    open_url(page, f"{secured_app.url}/runs")
    _login(page, "alice")
    copied = _auth_cookie(context)
    assert copied, "logging in sets the re-login cookie"
    # Before logout the copy logs in: that is what revocation has to undo.
    thief = _with_cookie(new_context, secured_app, copied)
    assert not login_form_shown(thief) and run.name in main_text(thief)

    log_out(page)
    assert _auth_cookie(context) is None

    later = _with_cookie(new_context, secured_app, copied)
    assert login_form_shown(later)
    assert run.name not in main_text(later)
    assert not no_exception_shown(later)
    # The session that was already using the copy is logged out at its next run.
    thief.get_by_role("link", name="Runs").first.click()
    thief.get_by_label("Password", exact=True).wait_for()
    # Until that run ends, Streamlit keeps the page it replaces (greyed out) below the form.
    settle(thief)
    assert run.name not in main_text(thief)


@pytest.fixture(scope="module")
def editable_app(chromium_path: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The app on an empty store behind an auth YAML that a test may rewrite
    (server.info["config"], server.info["hashes"])."""
    tmp = tmp_path_factory.mktemp("editable")
    hashes = hash_passwords()
    config = tmp / "auth.yaml"
    config.write_text(yaml.safe_dump(auth_config(hashes), sort_keys=False), encoding="utf-8")
    env = {
        "ZVIZ_HOME": str(tmp / "store"),
        "ZVIZ_DEMO": "0",
        "ZVIZ_AUTH_CONFIG": str(config),
        "ZVIZ_COOKIE_KEY": COOKIE_KEY,
    }
    server = start_server(env, tmp / "streamlit.log", _app_cwd(tmp))
    server.info.update(config=config, hashes=hashes)
    yield server
    stop_server(server)


def _write_config(server: Server, without: str | None = None) -> None:
    config = auth_config(server.info["hashes"])
    if without:
        del config["credentials"]["usernames"][without]
    path: Path = server.info["config"]
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")


def test_a_removed_users_copied_cookie_is_dead_even_after_they_come_back(
    editable_app: Server, new_context
) -> None:
    context = new_context()
    page = context.new_page()
    open_url(page, editable_app.url)
    _login(page, "carol")
    copied = _auth_cookie(context)
    assert copied
    assert not login_form_shown(_with_cookie(new_context, editable_app, copied))

    _write_config(editable_app, without="carol")
    try:
        removed = _with_cookie(new_context, editable_app, copied)
        assert login_form_shown(removed)
        assert not no_exception_shown(removed)
    finally:
        _write_config(editable_app)  # carol is back, with the same password
    back = _with_cookie(new_context, editable_app, copied)
    assert login_form_shown(back), "her old cookie stays revoked"
    _login(back, "carol")  # her password works again, and gives a new cookie
    assert _auth_cookie(back.context) not in (None, copied)
