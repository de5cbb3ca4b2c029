"""Login through the real entrypoint: who sees what, what a visitor sees before login, bad configs."""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import bcrypt
import pytest
import yaml
from streamlit.testing.v1 import AppTest

from tests.ui.conftest import APP, TIMEOUT, link_labels, no_exception, plain, texts
from zviz_core import Client
from zviz_core.demo import DEMO_COOKIE_KEY
from zviz_core.logins import USER_FREE_FAILURES
from zviz_core.ui import auth, nav
from zviz_testing.world import (
    COOKIE_KEY,
    HOSTILE_NAME,
    USERS,
    World,
    auth_config,
    build_world,
    hash_passwords,
    write_auth_config,
)

ALL_PAGES = [spec.path for spec in nav.PAGES]


@pytest.fixture(scope="session")
def hashes() -> dict[str, str]:
    """The test users' bcrypt hashes, made once: bcrypt is slow on purpose."""
    return hash_passwords()


@pytest.fixture
def world(zviz_home: Path) -> World:
    return build_world()


@pytest.fixture
def secured(
    world: World, hashes: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """The team store behind an auth YAML in $ZVIZ_AUTH_CONFIG, cookie key in the environment."""
    monkeypatch.chdir(tmp_path)  # no developer's .streamlit/auth.yaml or secrets.toml
    path = write_auth_config(tmp_path / "auth.yaml", hashes)
    monkeypatch.setenv("ZVIZ_AUTH_CONFIG", str(path))
    monkeypatch.setenv("ZVIZ_COOKIE_KEY", COOKIE_KEY)
    return path


def app(page: str | None = None, **params: Any) -> AppTest:
    """An AppTest of the entrypoint opened on `page` (a page file) with query parameters."""
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    for name, value in params.items():
        at.query_params[name] = str(value)
    if page is not None:
        at.switch_page(page)
    return at


def login_form(at: AppTest) -> bool:
    return {t.label for t in at.text_input} >= {"Username", "Password"}


def submit_login(at: AppTest, username: str, password: str) -> AppTest:
    """Fill and submit the login form; returns the app after the submitting run."""
    assert login_form(at), texts(at, "markdown")
    next(t for t in at.text_input if t.label == "Username").input(username)
    next(t for t in at.text_input if t.label == "Password").input(password)
    next(b for b in at.button if b.label == "Log in").click()
    return at.run()


def logged_in(page: str | None, username: str, **params: Any) -> AppTest:
    """Open `page` logged out, log in as `username` through the form, and return the page as the
    next run shows it (in the browser the cookie component triggers that run)."""
    at = app(page, **params).run()
    submit_login(at, username, USERS[username].password)
    assert at.session_state["authentication_status"] is True, texts(at, "error")
    at.run()
    no_exception(at)
    assert not login_form(at)
    return at


def tree_text(at: AppTest) -> str:
    """Everything the run sent to the browser, as text (element protos, tables included), with
    backslashes dropped so that Markdown-escaped names read as they are."""
    parts: list[str] = []

    def walk(node: Any) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None:
            parts.append(str(proto))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return "\n".join(parts).replace("\\", "")


def tile_titles(at: AppTest) -> set[str]:
    return {plain(m.value).strip("*") for m in at.markdown if m.value.startswith("**")}


# -- before login --------------------------------------------------------------------------------


@pytest.mark.parametrize("page", ALL_PAGES)
def test_no_data_on_any_url_before_login(secured: Path, world: World, page: str) -> None:
    ids = {
        nav.RUNS: world.everything_run.id,
        nav.PIPELINES: world.everything_id,
        nav.MODELS: world.model_id,
        nav.DEPLOYMENTS: world.deployment_id,
    }
    params = {"id": ids[page]} if page in ids else {}
    at = app(page, **params).run()
    no_exception(at)
    assert login_form(at)
    sent = tree_text(at)
    secrets = [
        world.everything_run.name,
        world.side_run.name,
        str(world.everything_run.id),
        "classifier",
        "serving",
        *world.tiles,
    ]
    assert not [s for s in secrets if s in sent]
    assert not at.sidebar.button, "no logout button, no navigation before login"


def test_wrong_password_and_unknown_user_get_the_same_message(secured: Path, world: World) -> None:
    for username, password in (("alice", "wrong"), ("nobody", "alice-pass-123"), ("alice", "")):
        at = app(nav.RUNS).run()
        submit_login(at, username, password)
        no_exception(at)
        if password:
            assert texts(at, "error") == ["Wrong username or password."]
        assert login_form(at)
        assert world.everything_run.name not in tree_text(at)
        at.run()
        assert login_form(at)


def test_a_too_long_password_is_just_wrong(secured: Path, world: World) -> None:
    at = app().run()
    submit_login(at, "alice", "x" * 200)  # bcrypt refuses > 72 bytes; the app must not crash
    no_exception(at)
    assert texts(at, "error") == ["Wrong username or password."]


# -- throttling and timing ------------------------------------------------------------------------

THROTTLED = re.compile(r"Too many failed logins for this user\. Try again in (\d+) seconds\.")


def _fail_until_throttled(username: str) -> tuple[AppTest, str]:
    """Fail USER_FREE_FAILURES times as `username`, then try once more (with alice's right
    password); return the app and the one error that last attempt showed."""
    at = app(nav.RUNS).run()
    for _ in range(USER_FREE_FAILURES):
        submit_login(at, username, "not-the-password")
        assert texts(at, "error") == ["Wrong username or password."], texts(at, "error")
    submit_login(at, username, USERS["alice"].password)
    no_exception(at)
    errors = texts(at, "error")
    assert len(errors) == 1, errors
    return at, errors[0]


def test_failed_logins_are_throttled_and_the_message_says_when_to_retry(
    secured: Path, world: World
) -> None:
    at, error = _fail_until_throttled("alice")
    match = THROTTLED.fullmatch(error)
    assert match and 0 < int(match[1]) <= 32, error
    assert at.session_state["authentication_status"] is not True, "the right password is refused"
    assert login_form(at) and world.everything_run.name not in tree_text(at)
    # A new session (another tab, another process of the app) is refused just the same.
    fresh = app(nav.RUNS).run()
    submit_login(fresh, "alice", USERS["alice"].password)
    assert THROTTLED.fullmatch(texts(fresh, "error")[0]), texts(fresh, "error")
    # Other users are not locked out by alice's failures.
    logged_in(nav.RUNS, "bob")


def test_a_throttled_unknown_user_looks_like_a_throttled_real_one(
    secured: Path, world: World
) -> None:
    _, real = _fail_until_throttled("alice")
    _, unknown = _fail_until_throttled("nobody")
    assert THROTTLED.sub("N", real) == THROTTLED.sub("N", unknown) == "N", (real, unknown)


def test_the_demo_whose_passwords_are_public_is_not_throttled(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from zviz_core.demo import DEMO_USERS

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ZVIZ_DEMO", "1")
    username, password, _ = DEMO_USERS[0]
    at = app().run()
    for _ in range(USER_FREE_FAILURES + 1):
        submit_login(at, username, "not-the-password")
        assert texts(at, "error") == ["Wrong username or password."], texts(at, "error")
    submit_login(at, username, password)
    assert at.session_state["authentication_status"] is True, texts(at, "error")


def test_a_successful_login_resets_the_count(secured: Path, world: World) -> None:
    at = app(nav.RUNS).run()
    for _ in range(USER_FREE_FAILURES - 1):
        submit_login(at, "alice", "not-the-password")
    assert Client().logins().failure_count("alice") == USER_FREE_FAILURES - 1
    submit_login(at, "alice", USERS["alice"].password)
    assert at.session_state["authentication_status"] is True
    assert Client().logins().failure_count("alice") == 0
    at = app(nav.RUNS).run()
    for _ in range(USER_FREE_FAILURES - 1):
        submit_login(at, "alice", "not-the-password")
    submit_login(at, "alice", USERS["alice"].password)
    assert at.session_state["authentication_status"] is True, texts(at, "error")


def test_an_unknown_username_takes_as_long_as_a_wrong_password(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Hashes at bcrypt's default cost, as real configs have: an unknown name used to answer in
    9 ms against 318 ms for a wrong password. Ratios of medians measured here, not times."""
    samples = 6
    slow_hash = bcrypt.hashpw(b"the-real-password", bcrypt.gensalt(rounds=12)).decode()
    config = {
        "credentials": {
            "usernames": {
                f"user{i}": {"name": f"User {i}", "password": slow_hash, "roles": ["admin"]}
                for i in range(samples)
            }
        },
        "access": {"roles": {"admin": {"read": ["*"], "write": ["*"]}}},
    }
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "auth.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    monkeypatch.setenv("ZVIZ_AUTH_CONFIG", str(path))
    monkeypatch.setenv("ZVIZ_COOKIE_KEY", COOKIE_KEY)
    at = app(nav.RUNS).run()

    def timed(username: str) -> float:
        next(t for t in at.text_input if t.label == "Username").input(username)
        next(t for t in at.text_input if t.label == "Password").input("a-wrong-password")
        next(b for b in at.button if b.label == "Log in").click()
        started = time.perf_counter()
        at.run()
        elapsed = time.perf_counter() - started
        assert texts(at, "error") == ["Wrong username or password."], texts(at, "error")
        return elapsed

    timed("warm-up")
    wrong, unknown = [], []
    for i in range(samples):  # interleaved, one attempt per name: nobody gets throttled
        wrong.append(timed(f"user{i}"))
        unknown.append(timed(f"nobody{i}"))
    ratio = statistics.median(unknown) / statistics.median(wrong)
    assert 0.5 <= ratio <= 2.0, (ratio, wrong, unknown)


# -- who sees what --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("username", "runs"),
    [
        ("admin", {"everything", "side_job"}),
        ("alice", {"everything"}),
        ("bob", {"side_job"}),
        ("carol", set()),
    ],
)
def test_each_user_sees_exactly_their_runs(
    secured: Path, world: World, username: str, runs: set[str]
) -> None:
    at = logged_in(nav.RUNS, username)
    names = {world.everything_run.name: "everything", world.side_run.name: "side_job"}
    listed = {kind for name, kind in names.items() if any(name in x for x in link_labels(at))}
    assert listed == runs
    sent = tree_text(at)
    for name, kind in names.items():
        assert (name in sent) == (kind in runs), (username, kind)


@pytest.mark.parametrize(
    ("username", "page", "target", "tiles", "editable"),
    [
        ("admin", nav.OVERVIEW, None, {"Project report"}, True),
        ("alice", nav.OVERVIEW, None, set(), False),
        ("admin", nav.PIPELINES, "everything", {"Everything card"}, True),
        ("alice", nav.PIPELINES, "everything", {"Everything card"}, True),
        ("bob", nav.PIPELINES, "everything", None, False),
        ("bob", nav.PIPELINES, "side", {"Attack page", HOSTILE_NAME}, False),
        ("alice", nav.PIPELINES, "side", None, False),
        ("alice", nav.MODELS, "model", {"Model metrics"}, False),
        ("bob", nav.MODELS, "model", {"Model metrics"}, False),
        ("admin", nav.MODELS, "model", {"Model metrics"}, True),
        ("alice", nav.DEPLOYMENTS, "deployment", None, False),
        ("carol", nav.MODELS, "model", None, False),
    ],
)
def test_each_user_sees_exactly_their_dashboards(
    secured: Path,
    world: World,
    username: str,
    page: str,
    target: str | None,
    tiles: set[str] | None,
    editable: bool,
) -> None:
    """`tiles` None: the resource is not readable, so it must look like it does not exist."""
    ids = {
        "everything": world.everything_id,
        "side": world.side_id,
        "model": world.model_id,
        "deployment": world.deployment_id,
    }
    at = logged_in(page, username, **({"id": ids[target]} if target else {}))
    # Tile names are shown Markdown-escaped, as headings: compare on what a user reads.
    shown = {n for n in world.tiles if any(plain(m.value) == f"**{n}**" for m in at.markdown)}
    assert shown == (tiles or set()), (username, page, target, texts(at, "error"))
    assert bool([b for b in at.button if b.label == "Add tile"]) == editable
    if tiles is None:
        assert any("exists" in e for e in texts(at, "error")), texts(at, "error")
        sent = tree_text(at)
        assert not [n for n in world.tiles if n in sent]


def test_empty_states_do_not_pretend_the_store_is_empty(secured: Path, world: World) -> None:
    at = logged_in(nav.OVERVIEW, "bob")  # no project grant, no run in view but side_job's
    assert "Project dashboard" not in [s.value for s in at.header]
    assert any("not among what you may see" in c for c in texts(at, "caption"))
    at = logged_in(nav.RUNS, "carol")  # no grants at all
    assert any("No runs that you may see" in i for i in texts(at, "info")), texts(at, "info")
    assert not at.code, "the how-to-make-a-first-run example is for users who see everything"


def test_sidebar_shows_the_user_their_roles_and_a_logout(secured: Path, world: World) -> None:
    at = logged_in(None, "alice")
    sidebar = [m.value for m in at.sidebar.markdown]
    assert any("Alice Analyst" in plain(m) for m in sidebar), sidebar
    assert ":violet-badge[scientist]" in sidebar, sidebar
    logout = next(b for b in at.sidebar.button if b.label == "Log out")
    logout.click()
    at.run()
    no_exception(at)
    at.run()
    assert login_form(at)
    assert world.everything_run.name not in tree_text(at)


def test_a_user_removed_from_the_config_is_logged_out(
    secured: Path, world: World, hashes: dict[str, str]
) -> None:
    at = logged_in(nav.RUNS, "alice")
    config = auth_config(hashes)
    del config["credentials"]["usernames"]["alice"]
    secured.write_text(yaml.safe_dump(config), encoding="utf-8")
    at.run()
    no_exception(at)
    assert login_form(at)
    assert world.everything_run.name not in tree_text(at)


def test_the_add_tile_picker_offers_only_readable_visualizations(
    secured: Path, world: World
) -> None:
    at = logged_in(nav.PIPELINES, "alice", id=world.everything_id)
    next(b for b in at.button if b.label == "Add tile").click()
    at.run()
    no_exception(at)
    options = [str(o) for box in at.selectbox for o in box.options]
    assert any("report" in o for o in options), options
    assert not any("notes" in o or "page v" in o or "side_job" in o for o in options), options


# -- hostile text ---------------------------------------------------------------------------------


def test_markdown_and_names_with_html_are_shown_as_text(secured: Path, world: World) -> None:
    at = logged_in(nav.PIPELINES, "bob", id=world.side_id)
    hostile = [m for m in at.markdown if "script" in m.value]  # sidebar included
    assert len(hostile) >= 2, [m.value for m in at.markdown]  # sidebar name, tile name
    for element in hostile:
        assert not element.proto.allow_html, element.value
    names = [
        m.value for m in hostile if "pwned_name" in plain(m.value) or "pwned_user" in plain(m.value)
    ]
    assert len(names) == 2 and all(r"\<script\>" in n for n in names), names  # escaped
    # The artifact's own Markdown is rendered by zviz (markdown-it, raw HTML escaped) into an
    # HTML element: the script arrives as text, never as a tag.
    bodies = [h.proto.body for h in at.get("html") if "pwned_md" in h.proto.body]
    assert len(bodies) == 1, [h.proto.body[:80] for h in at.get("html")]
    assert "Side notes" in bodies[0]
    assert "&lt;script&gt;" in bodies[0] and "<script" not in bodies[0]


# -- configs that must not start -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "words"),
    [
        ("CHANGE-ME-to-the-output-of-secrets-token-urlsafe-32", "public"),
        (DEMO_COOKIE_KEY, "public"),
        ("short", "shorter than 16"),
        (None, "No cookie key"),
    ],
    ids=["example-key", "demo-key", "short-key", "no-key"],
)
def test_a_missing_or_public_cookie_key_stops_the_app(
    secured: Path, world: World, monkeypatch: pytest.MonkeyPatch, key: str | None, words: str
) -> None:
    if key is None:
        monkeypatch.delenv("ZVIZ_COOKIE_KEY")
    else:
        monkeypatch.setenv("ZVIZ_COOKIE_KEY", key)
    at = app(nav.RUNS).run()
    no_exception(at)
    errors = [plain(e) for e in texts(at, "error")]
    assert len(errors) == 1 and words in errors[0], errors
    assert not login_form(at)
    assert world.everything_run.name not in tree_text(at)


def test_the_example_secrets_key_is_refused(world: World, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    example = Path(__file__).resolve().parents[2] / ".streamlit" / "secrets.toml.example"
    import tomllib

    at = app()
    at.secrets.update(tomllib.loads(example.read_text(encoding="utf-8")))
    at.run()
    no_exception(at)
    assert any("public" in plain(e) for e in texts(at, "error")), texts(at, "error")
    assert not login_form(at)


def test_the_demo_accepts_its_own_key_and_lists_its_users(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ZVIZ_DEMO", "1")  # the store is not empty, so nothing is seeded
    at = app().run()
    no_exception(at)
    assert login_form(at)
    shown = " ".join(texts(at, "markdown"))
    from zviz_core.demo import DEMO_USERS

    for username, password, _ in DEMO_USERS:
        assert f"`{username}`" in shown and f"`{password}`" in shown
    assert world.everything_run.name not in tree_text(at)


def test_secrets_can_hold_the_whole_config(
    world: World, hashes: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = auth_config(hashes)
    config["cookie"]["key"] = COOKIE_KEY
    at = app(nav.RUNS)
    at.secrets.update(config)
    at.run()
    submit_login(at, "alice", USERS["alice"].password)
    at.run()
    no_exception(at)
    assert any(world.everything_run.name in x for x in link_labels(at))
    assert not any(world.side_run.name in x for x in link_labels(at))


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("credentials:\n  usernames:\n    alice: {password: x, roles: [admin]\n", "line 4"),
        (
            "credentials:\n  usernames:\n    alice: {password: x, roles: [boss]}\n"
            "access:\n  roles:\n    admin: {read: ['*']}\n",
            "line 3",
        ),
        (
            "credentials:\n  usernames:\n    alice: {password: x, roles: [admin]}\n"
            "access:\n  roles:\n    admin:\n      read: ['pipelines:*']\n",
            "line 7",
        ),
        ("credentials:\n  usernames:\n    alice: {roles: []}\n", "line 3"),
        ("credentials:\n  usernames: {}\n", "no users"),
        (
            "credentials:\n  usernames:\n    alice: &a {password: x, roles: [admin]}\n"
            "    bob: {<<: *a}\naccess:\n  roles:\n    admin: {read: ['*']}\n",
            "line 4",
        ),
    ],
    ids=["yaml-syntax", "undefined-role", "unknown-type", "no-password", "no-users", "merge-key"],
)
def test_a_malformed_config_stops_the_app_naming_the_line(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, line: str
) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "auth.yaml"
    path.write_text(text, encoding="utf-8")
    monkeypatch.setenv("ZVIZ_AUTH_CONFIG", str(path))
    monkeypatch.setenv("ZVIZ_COOKIE_KEY", COOKIE_KEY)
    at = app(nav.RUNS).run()
    no_exception(at)
    errors = [plain(e) for e in texts(at, "error")]
    assert len(errors) == 1 and line in errors[0] and str(path) in errors[0], errors
    assert not login_form(at)
    assert world.everything_run.name not in tree_text(at)


def test_a_config_path_that_does_not_exist_stops_the_app(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ZVIZ_AUTH_CONFIG", str(tmp_path / "missing.yaml"))
    at = app().run()
    assert any("missing.yaml" in plain(e) for e in texts(at, "error")), texts(at, "error")
    assert world.everything_run.name not in tree_text(at)


def test_without_any_config_the_app_is_the_local_owner(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # ZVIZ_DEMO=0 (conftest) and no config anywhere
    at = app(nav.RUNS).run()
    no_exception(at)
    assert not login_form(at)
    assert any("local owner" in c for c in texts(at.sidebar, "caption"))
    assert any(world.side_run.name in x for x in link_labels(at))


def test_the_local_auth_yaml_is_found_and_plain_passwords_work(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = auth_config({u: USERS[u].password for u in USERS})  # plain text, hashed on load
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "auth.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    monkeypatch.setenv("ZVIZ_COOKIE_KEY", COOKIE_KEY)
    first = auth.load_setup()
    assert first is not None and first is auth.load_setup(), "hashed once, then cached"
    assert all(u["password"].startswith("$2") for u in first.credentials["usernames"].values())
    at = logged_in(nav.RUNS, "bob")
    assert any(world.side_run.name in x for x in link_labels(at))


# -- the command line ------------------------------------------------------------------------------


def _cli(*args: str, password: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "zviz_core.ui.auth", *args, "--password-stdin"],
        input=password + "\n",
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
    )


def test_add_user_creates_a_config_a_user_can_log_in_with(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "auth.yaml"
    done = _cli("add-user", str(path), "Dana", "--role", "admin", password="dana-pass-1234")
    assert done.returncode == 0, done.stderr
    assert "dana-pass-1234" not in path.read_text()
    assert path.stat().st_mode & 0o077 == 0, "the config is readable by its owner only"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ZVIZ_AUTH_CONFIG", str(path))  # its own generated cookie key is used
    at = app(nav.RUNS).run()
    submit_login(at, "dana", "dana-pass-1234")
    at.run()
    no_exception(at)
    assert any(world.side_run.name in x for x in link_labels(at))


def test_add_user_keeps_comments_and_refuses_an_undefined_role(tmp_path: Path) -> None:
    path = tmp_path / "auth.yaml"
    path.write_text(
        "# team config\ncredentials:\n  usernames:\n    alice:\n      name: Alice  # lead\n"
        "      password: x\n      roles: [admin]\n# rules\naccess:\n  roles:\n"
        "    admin: {read: ['*'], write: ['*']}\n",
        encoding="utf-8",
    )
    assert (
        _cli("add-user", str(path), "bob", "--role", "admin", password="bob-pw-123").returncode == 0
    )
    bad = _cli("add-user", str(path), "eve", "--role", "boss", password="eve-pw-123")
    assert bad.returncode == 1 and "boss" in bad.stderr
    text = path.read_text()
    assert "# team config" in text and "# lead" in text and "# rules" in text
    users = yaml.safe_load(text)["credentials"]["usernames"]
    assert set(users) == {"alice", "bob"} and users["bob"]["password"].startswith("$2b$")


@pytest.mark.parametrize("password", ["", " padded ", "x" * 73])
def test_hash_password_refuses_passwords_the_form_cannot_match(password: str) -> None:
    with pytest.raises(ValueError):
        auth.hash_password(password)


# -- no dead ends ---------------------------------------------------------------------------------


def test_a_tile_from_a_run_the_viewer_cannot_open_says_so_and_has_no_link(
    secured: Path, world: World
) -> None:
    at = logged_in(nav.MODELS, "bob", id=world.model_id)  # the model's tile shows `everything`
    assert any("from a run you cannot open" in c for c in texts(at, "caption")), texts(
        at, "caption"
    )
    targets = [(link.proto.page, link.proto.query_string) for link in at.get("page_link")]
    assert not [t for t in targets if "runs" in t[0] or "artifacts" in t[0]], targets
    assert world.everything_run.name not in tree_text(at)
    admin = logged_in(nav.MODELS, "admin", id=world.model_id)
    assert any(world.everything_run.name in label for label in link_labels(admin))


@pytest.mark.parametrize(
    ("username", "left_out"),
    [
        ("admin", None),
        ("alice", "No deployments in this menu"),
        ("bob", "No deployments in this menu"),
        ("carol", "No runs, pipelines, snapshots, models, deployments and artifacts in this menu"),
    ],
)
def test_the_sidebar_says_which_pages_the_users_access_leaves_out(
    secured: Path, world: World, username: str, left_out: str | None
) -> None:
    at = logged_in(None, username)
    captions = [plain(c.value) for c in at.sidebar.caption]
    said = [c for c in captions if "in this menu" in c]
    assert said == ([] if left_out is None else [said[0]]) and (
        left_out is None or said[0].startswith(left_out)
    ), captions


def test_a_page_out_of_reach_still_opens_from_a_link_and_says_why_it_is_empty(
    secured: Path, world: World
) -> None:
    for page, what in [(nav.RUNS, "runs"), (nav.PIPELINES, "pipelines")]:
        at = logged_in(page, "carol")
        assert any(f"No {what} that you may see" in i for i in texts(at, "info")), texts(at, "info")


def test_a_deployment_whose_snapshot_the_viewer_cannot_open_says_so_without_an_error(
    secured: Path, world: World, hashes: dict[str, str]
) -> None:
    config = auth_config(hashes)
    config["access"]["users"] = {"bob": {"read": ["deployment:serving"]}}
    secured.write_text(yaml.safe_dump(config), encoding="utf-8")
    at = logged_in(nav.DEPLOYMENTS, "bob", id=world.deployment_id)
    assert "a snapshot you cannot open" in texts(at, "caption")
    assert not at.error, texts(at, "error")
    assert not [link for link in at.get("page_link") if "snapshots" in link.proto.page]


def test_a_run_of_a_pipeline_the_user_may_not_open_links_to_neither(
    secured: Path, world: World
) -> None:
    """Granted one run only, carol sees its page, and its pipeline and snapshot as plain words
    instead of links that end on "not found"."""
    config = yaml.safe_load(secured.read_text(encoding="utf-8"))
    config["access"]["roles"]["runner"] = {"read": [f"pipeline_run:{world.everything_run.id}"]}
    config["credentials"]["usernames"]["carol"]["roles"] = ["runner"]
    secured.write_text(yaml.safe_dump(config), encoding="utf-8")
    at = logged_in(nav.RUNS, "carol", id=world.everything_run.id)
    assert world.everything_run.name in plain(next(t.value for t in at.title))
    captions = texts(at, "caption")
    assert any("(a pipeline you cannot open)" in c for c in captions), captions
    assert any("a snapshot you cannot open" in c for c in captions), captions
    assert "Snapshot" not in link_labels(at)
    assert not [label for label in link_labels(at) if label == "everything"]
