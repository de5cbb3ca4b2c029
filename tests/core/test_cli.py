"""The `zviz` command: help on every level, and each subcommand doing its job on real stores and
real config files."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import click
import pytest
import yaml
from click.testing import CliRunner

from zviz_core import Client
from zviz_core.cli import APP_SETTINGS, app_command, main
from zviz_core.store import forget_engines
from zviz_core.store.schema import LATEST

ROOT = Path(__file__).resolve().parents[2]
# These name their own stores and settings: the engine parametrisation of tests/core adds nothing.
pytestmark = pytest.mark.duckdb_only


def _commands(group: click.Group, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [path]
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found += _commands(command, (*path, name))
        else:
            found.append((*path, name))
    return found


EVERY_COMMAND = _commands(main)


def run(*args: str, input: str | None = None) -> click.testing.Result:
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


def test_the_command_tree_is_the_one_the_readme_documents() -> None:
    assert set(EVERY_COMMAND) >= {
        ("app",),
        ("users", "add"),
        ("users", "passwd"),
        ("users", "remove"),
        ("users", "list"),
        ("store", "info"),
        ("store", "copy"),
        ("store", "migrate"),
        ("demo",),
    }
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for path in EVERY_COMMAND[1:]:
        assert f"zviz {' '.join(path)}" in readme, f"README never mentions zviz {' '.join(path)}"


@pytest.mark.parametrize("path", EVERY_COMMAND, ids=lambda p: " ".join(p) or "zviz")
def test_every_level_has_help(path: tuple[str, ...]) -> None:
    for flag in ("--help", "-h"):
        result = run(*path, flag)
        assert result.exit_code == 0, result.output
        assert result.output.startswith(f"Usage: zviz {' '.join(path)}".rstrip())
        command = main
        for name in path:
            command = command.commands[name]  # type: ignore[attr-defined]
        first = (command.help or "").strip().splitlines()[0]
        assert first and first in " ".join(result.output.split()), result.output


def test_the_installed_console_script_runs() -> None:
    (entry,) = [e for e in metadata.entry_points(group="console_scripts") if e.name == "zviz"]
    assert entry.value == "zviz_core.cli:main"
    script = Path(sys.executable).with_name("zviz")
    done = subprocess.run([str(script), "--help"], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and "users" in done.stdout and "store" in done.stdout
    assert done.stderr == ""


# -- zviz users ---------------------------------------------------------------------------------


def test_users_add_passwd_list_remove_on_a_new_file(tmp_path: Path) -> None:
    from streamlit_authenticator import Hasher

    path = tmp_path / "auth.yaml"
    added = run(
        "users",
        "add",
        "Dana",
        "--role",
        "admin",
        "--config",
        str(path),
        input="dana-pw-1234\ndana-pw-1234\n",
    )
    assert added.exit_code == 0, added.output
    assert f"Added dana (admin) in {path}." in added.output
    assert path.stat().st_mode & 0o077 == 0
    done = run(
        "users",
        "add",
        "eve",
        "--role",
        "viewer",
        "--config",
        str(path),
        "--password-stdin",
        input="eve-pw-1234\n",
    )
    assert done.exit_code == 0, done.output

    listed = run("users", "list", "--config", str(path))
    assert listed.exit_code == 0
    assert [line.split()[0] for line in listed.output.splitlines()] == ["dana", "eve"]
    assert "[viewer]" in listed.output and "$2b$" not in listed.output

    changed = run(
        "users", "passwd", "eve", "--config", str(path), "--password-stdin", input="eve-new-pw-99\n"
    )
    assert changed.exit_code == 0, changed.output
    users = yaml.safe_load(path.read_text())["credentials"]["usernames"]
    assert Hasher.check_pw("eve-new-pw-99", users["eve"]["password"])
    assert users["eve"]["roles"] == ["viewer"]

    removed = run("users", "remove", "EVE", "--config", str(path))
    assert removed.exit_code == 0, removed.output
    assert set(yaml.safe_load(path.read_text())["credentials"]["usernames"]) == {"dana"}


def test_users_commands_say_what_is_wrong(tmp_path: Path) -> None:
    path = tmp_path / "auth.yaml"
    missing = run("users", "list", "--config", str(path))
    assert (
        missing.exit_code == 1 and "does not exist: `zviz users add` creates it" in missing.output
    )
    run("users", "add", "dana", "--config", str(path), "--password-stdin", input="dana-pw-1234\n")
    unknown = run("users", "passwd", "zed", "--config", str(path), "--password-stdin", input="x\n")
    assert unknown.exit_code == 1 and "has no user 'zed'" in unknown.output
    bad_role = run(
        "users",
        "add",
        "eve",
        "--role",
        "boss",
        "--config",
        str(path),
        "--password-stdin",
        input="eve-pw-1234\n",
    )
    assert bad_role.exit_code == 1 and "boss" in bad_role.output
    empty = run("users", "add", "eve", "--config", str(path), "--password-stdin", input="\n")
    assert empty.exit_code == 1 and "The password is empty" in empty.output


def test_remove_keeps_the_comments_and_the_other_users(tmp_path: Path) -> None:
    path = tmp_path / "auth.yaml"
    path.write_text(
        "# team config\ncredentials:\n  usernames:\n    alice:  # the lead\n      name: Alice\n"
        "      password: x\n      roles: [admin]\n    bob:\n      name: Bob\n      password: y\n"
        "# rules\naccess:\n  roles:\n    admin: {read: ['*'], write: ['*']}\n",
        encoding="utf-8",
    )
    assert run("users", "remove", "bob", "--config", str(path)).exit_code == 0
    text = path.read_text()
    assert "# team config" in text and "# the lead" in text and "# rules" in text
    assert set(yaml.safe_load(text)["credentials"]["usernames"]) == {"alice"}
    assert run("users", "remove", "alice", "--config", str(path)).exit_code == 0
    assert yaml.safe_load(path.read_text())["credentials"]["usernames"] == {}


def test_the_old_module_entry_point_says_what_replaced_it() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "zviz_core.ui.auth", "list-users"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2 and "is now `zviz users`" in done.stderr


# -- zviz store ---------------------------------------------------------------------------------


def test_store_info_changes_nothing_and_migrate_creates_the_schema(tmp_path: Path) -> None:
    home = tmp_path / "store"
    info = run("store", "info", str(home))
    assert info.exit_code == 0 and "no store here yet" in info.output
    assert not home.exists()

    migrated = run("store", "migrate", str(home))
    assert migrated.exit_code == 0 and f"schema version 0 -> {LATEST}" in migrated.output
    again = run("store", "migrate", str(home))
    assert f"already at schema version {LATEST}" in again.output

    client = Client(home=home)
    client.create_project("vision")
    forget_engines(close=True)
    info = run("store", "info", str(home))
    assert info.exit_code == 0, info.output
    lines = info.output.splitlines()
    assert lines[0].split() == ["engine:", "duckdb"]
    assert lines[1].split() == ["location:", str(home.resolve())]
    assert f"schema version {LATEST} (current)" in lines[2]
    counts = {line.split()[0]: line.split()[1] for line in lines[3:]}
    assert counts["projects"] == "2" and counts["pipeline_runs"] == "0"


def test_store_info_defaults_to_zviz_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZVIZ_HOME", str(tmp_path / "h"))
    assert str(tmp_path / "h") in run("store", "info").output


def test_store_refuses_a_location_it_cannot_use(tmp_path: Path) -> None:
    bad = run("store", "info", "mysql://db/zviz")
    assert bad.exit_code == 2 and "neither a store folder" in bad.output


def test_store_copy_copies_a_store(tmp_path: Path) -> None:
    source, target = tmp_path / "a", tmp_path / "b"
    Client(home=source).create_project("vision")
    forget_engines(close=True)
    done = CliRunner().invoke(main, ["store", "copy", str(source), str(target), "--quiet"])
    assert done.exit_code == 0, done.output
    forget_engines(close=True)
    assert "vision" in {p.name for p in Client(home=target).list_projects()}
    forget_engines(close=True)
    refused = CliRunner().invoke(main, ["store", "copy", str(source), str(target), "--quiet"])
    assert refused.exit_code == 2, refused.output


# -- zviz demo and zviz app ----------------------------------------------------------------------


@pytest.mark.slow
def test_demo_seeds_the_named_store_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZVIZ_DEMO", "0")  # the command asks for the demo by name anyway
    home = tmp_path / "demo"
    seeded = run("demo", str(home))
    assert seeded.exit_code == 0 and f"Seeded the demo into {home.resolve()}" in seeded.output
    forget_engines(close=True)
    assert Client(home=home).list_pipeline_runs(size=5).total > 0
    again = run("demo", str(home))
    assert again.exit_code == 0 and "is not empty: nothing was seeded" in again.output


def test_app_runs_the_entrypoint_with_the_repo_settings_and_no_watcher() -> None:
    command = app_command(["--server.port", "8999"])
    assert command[1:4] == ["-m", "streamlit", "run"]
    assert Path(command[4]) == ROOT / "streamlit_app.py"
    assert "--server.fileWatcherType=none" in command
    assert command[-2:] == ["--server.port", "8999"], "the user's arguments come last and win"
    assert "--server.fileWatcherType=poll" in app_command([], reload=True)
    # Streamlit reads .streamlit/config.toml only from the working folder: zviz app passes the
    # same settings, so the app behaves the same wherever it is started.
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    flat = {
        f"{section}.{key}": str(value).lower() if isinstance(value, bool) else str(value)
        for section, values in config.items()
        for key, value in values.items()
    }
    assert flat == {k: v for k, v in APP_SETTINGS.items() if k != "server.address"}
