"""The `zviz` command: the app, its login users, the store and the demo, each with `--help`."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from zviz_core.errors import ConfigError, StoreVersionError, ZvizError

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
ROOT = Path(__file__).resolve().parent.parent
ENTRYPOINT = "streamlit_app.py"
# The app's Streamlit settings (as in .streamlit/config.toml, which Streamlit reads only from the
# working folder, and Community Cloud uses): `zviz app` passes them, so the app behaves the same
# started from anywhere.
APP_SETTINGS: dict[str, str] = {
    # Never reached from other machines unless asked (`--server.address 0.0.0.0`), as `mlflow ui`.
    "server.address": "127.0.0.1",
    "server.headless": "true",
    "server.maxMessageSize": "200",
    "server.maxUploadSize": "50",
    "server.enableXsrfProtection": "true",
    "browser.gatherUsageStats": "false",
    "client.showErrorDetails": "none",
    "client.toolbarMode": "minimal",
    "runner.fastReruns": "true",
    "theme.base": "light",
    "theme.primaryColor": "#4f46e5",
}


def _fail(message: str, code: int = 1) -> NoReturn:
    click.echo(f"zviz: {message}", err=True)
    raise SystemExit(code)


@click.group(name="zviz", context_settings=CONTEXT)
@click.version_option(package_name="zviz", prog_name="zviz")
def main() -> None:
    """See what your ML pipelines produced: run the app, manage its login users, and look after
    the store (ZVIZ_HOME, or ZVIZ_STORE_URL for a team store)."""


# -- zviz app -------------------------------------------------------------------------------------


def entrypoint() -> Path:
    """The app's Streamlit entrypoint (installed beside zviz_core, or in this checkout); raises
    ConfigError when it is missing (zviz installed without its app files)."""
    path = ROOT / ENTRYPOINT
    if not path.is_file():
        raise ConfigError(f"The app's {ENTRYPOINT} is not installed beside zviz_core ({ROOT}).")
    return path


def store_summary() -> str:
    """One line on the store the app will use: engine, location, artifacts, and demo or not.
    Raises ConfigError for a bad setting."""
    from zviz_core.settings import settings
    from zviz_core.store import default_home
    from zviz_core.store.postgres import redact

    config = settings()
    if config.STORE_URL:
        where = f"PostgreSQL store at {redact(config.STORE_URL)}"
    else:
        where = f"DuckDB store in {default_home()}"
    artifacts = config.ARTIFACT_STORE or "the store folder's artifacts/"
    demo = "on (an empty store is seeded)" if config.demo_enabled(config.team_store) else "off"
    return f"zviz: {where}, artifacts in {artifacts}, demo {demo}"


def app_command(args: list[str], reload: bool = False) -> list[str]:
    """The `streamlit run` command line of the app: zviz's Streamlit settings, Streamlit's own
    log at warning level (its banner stays), no file watcher unless `reload`, then `args` (which
    win over all of these)."""
    command = [sys.executable, "-m", "streamlit", "run", str(entrypoint())]
    # The default watcher (watchdog) puts an inotify watch on every folder under the app's,
    # .venv included, and printed ~70 "Inotify queue overflowed" lines before the first page
    # here; polling watches only the app's own modules (and cost no measurable CPU when idle).
    watcher = {"server.fileWatcherType": "poll", "server.runOnSave": "true"} if reload else {}
    settings = {
        **APP_SETTINGS,
        "logger.level": "warning",
        "server.fileWatcherType": "none",
        **watcher,
    }
    command += [f"--{key}={value}" for key, value in settings.items()]
    return [*command, *args]


@main.command(
    context_settings={**CONTEXT, "ignore_unknown_options": True, "allow_extra_args": True}
)
@click.option(
    "--reload",
    is_flag=True,
    help="Rerun the app when its source files change (for working on zviz; watches files).",
)
@click.argument("streamlit_args", nargs=-1, type=click.UNPROCESSED)
def app(reload: bool, streamlit_args: tuple[str, ...]) -> None:
    """Run the Streamlit app. Extra arguments go to `streamlit run`, for example
    `zviz app --server.port 8600`.

    It reads the store from ZVIZ_HOME (default ~/.zviz) or ZVIZ_STORE_URL, and seeds an empty
    embedded store with a demo unless ZVIZ_DEMO=0.
    """
    if importlib.util.find_spec("streamlit") is None:
        _fail('the app needs its extra: pip install "zviz[app]"')
    try:
        command = app_command(list(streamlit_args), reload)
        click.echo(store_summary())
    except ConfigError as exc:
        _fail(str(exc))
    sys.stdout.flush()
    if os.name == "posix":
        # Streamlit in place of this process: a supervisor's SIGTERM reaches it, not an orphan.
        os.execv(command[0], command)
    try:
        raise SystemExit(subprocess.run(command).returncode)
    except KeyboardInterrupt:
        raise SystemExit(130) from None


# -- zviz users -----------------------------------------------------------------------------------

_config_option = click.option(
    "--config",
    "config",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The auth YAML (default: $ZVIZ_AUTH_CONFIG, else .streamlit/auth.yaml).",
)
_stdin_option = click.option(
    "--password-stdin", is_flag=True, help="Read the password from standard input."
)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return str(click.prompt("Password", hide_input=True, confirmation_prompt="Repeat it"))


def _users_call(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except ImportError as exc:
        _fail(f'passwords need bcrypt ({exc.name}): pip install "zviz[app]"')
    except (ValueError, ConfigError, OSError) as exc:
        _fail(str(exc))


@main.group(context_settings=CONTEXT)
def users() -> None:
    """Manage the app's login users.

    They live in the auth YAML, with bcrypt-hashed passwords; edits keep the file's comments."""


@users.command("add", context_settings=CONTEXT)
@click.argument("username")
@click.option("--role", "roles", multiple=True, help="A role from access.roles (repeatable).")
@click.option("--name", help="Display name (default: the username).")
@click.option("--email", help="E-mail address.")
@_config_option
@_stdin_option
def users_add(
    username: str,
    roles: tuple[str, ...],
    name: str | None,
    email: str | None,
    config: Path | None,
    password_stdin: bool,
) -> None:
    """Add USERNAME (or update them), asking for the password. Creates the file, with a new
    random cookie key, if it does not exist."""
    from zviz_core import users as users_mod

    path = users_mod.config_path(config)
    password = _password(password_stdin)
    new = _users_call(
        lambda: users_mod.add_user(path, username, password, list(roles), name, email)
    )
    entry = next(u for u in users_mod.list_users(path) if u.username == username.strip().lower())
    verb = "Added" if new else "Updated"
    click.echo(f"{verb} {entry.username} ({', '.join(entry.roles) or 'no roles'}) in {path}.")


@users.command("passwd", context_settings=CONTEXT)
@click.argument("username")
@_config_option
@_stdin_option
def users_passwd(username: str, config: Path | None, password_stdin: bool) -> None:
    """Set the password of USERNAME, asking for it."""
    from zviz_core import users as users_mod

    path = users_mod.config_path(config)
    password = _password(password_stdin)
    _users_call(users_mod.set_password, path, username, password)
    click.echo(f"Changed the password of {username.strip().lower()} in {path}.")


@users.command("remove", context_settings=CONTEXT)
@click.argument("username")
@_config_option
def users_remove(username: str, config: Path | None) -> None:
    """Remove USERNAME. The app revokes their login cookies when it next reads the file."""
    from zviz_core import users as users_mod

    path = users_mod.config_path(config)
    _users_call(users_mod.remove_user, path, username)
    click.echo(f"Removed {username.strip().lower()} from {path}.")


@users.command("list", context_settings=CONTEXT)
@_config_option
def users_list(config: Path | None) -> None:
    """List the users: username, name, e-mail and roles (never passwords)."""
    from zviz_core import users as users_mod

    path = users_mod.config_path(config)
    found = _users_call(users_mod.list_users, path)
    if not found:
        click.echo(f"No users in {path}: `zviz users add USERNAME --role ROLE` adds one.")
        return
    width = max(len(u.username) for u in found)
    for user in found:
        roles = ", ".join(user.roles) or "no roles"
        click.echo(f"{user.username:<{width}}  {user.name} <{user.email}>  [{roles}]")


@users.command("hash-password", context_settings=CONTEXT)
@_stdin_option
def users_hash_password(password_stdin: bool) -> None:
    """Print the bcrypt hash of a password, for a config kept elsewhere (Streamlit secrets)."""
    from zviz_core.users import hash_password

    click.echo(_users_call(hash_password, _password(password_stdin)))


# -- zviz store -----------------------------------------------------------------------------------


@main.group(context_settings=CONTEXT)
def store() -> None:
    """Look after a store: info, migrate, copy."""


_where = click.argument("where", required=False, metavar="[STORE]")


def _locate(where: str | None) -> Any:
    from zviz_core.store.info import locate

    try:
        return locate(where)
    except ZvizError as exc:
        _fail(str(exc), 2)


@store.command("info", context_settings=CONTEXT)
@_where
def store_info(where: str | None) -> None:
    """Show a store's engine, location, schema version and row counts.

    STORE is a folder, duckdb:///path or postgresql://… (default: ZVIZ_STORE_URL, else
    ZVIZ_HOME). Nothing is created or changed."""
    from zviz_core.store import forget_engines
    from zviz_core.store.info import describe

    location = _locate(where)
    try:
        info = describe(location)
    except ZvizError as exc:
        _fail(str(exc))
    finally:
        forget_engines(close=True)
    click.echo(f"engine:   {info.engine}")
    click.echo(f"location: {info.location}")
    click.echo(f"schema:   {info.state}")
    for table, count in info.counts.items():
        click.echo(f"  {table:<24} {count:>12,}")


@store.command("migrate", context_settings=CONTEXT)
@_where
def store_migrate(where: str | None) -> None:
    """Create a store, or upgrade its schema to this zviz's version.

    Each step runs in one transaction. Stores also upgrade on first use; this does it up front,
    for example before a deploy."""
    from zviz_core.store import forget_engines
    from zviz_core.store.info import migrate

    location = _locate(where)
    try:
        before, after = migrate(location)
    except StoreVersionError as exc:
        _fail(str(exc), 2)
    except ZvizError as exc:
        _fail(str(exc))
    finally:
        forget_engines(close=True)
    if before == after:
        click.echo(f"{location}: already at schema version {after}.")
    else:
        click.echo(f"{location}: schema version {before} -> {after}.")


@store.command(
    "copy",
    context_settings=CONTEXT,
    help=(
        "Copy a whole store into a new or empty one.\n\n"
        "DuckDB -> PostgreSQL, PostgreSQL -> DuckDB, or the same engine. "
        "SRC and DST are each a store folder (duckdb:///path also works) or a "
        "postgresql://user:password@host:port/database URL. The copy is one transaction: "
        "interrupted, it leaves DST empty. Exit code 2: refused, nothing written. "
        "`python -m zviz_core.store copy --help` has the full rules."
    ),
)
@click.argument("source", metavar="SRC")
@click.argument("destination", metavar="DST")
@click.option(
    "--artifacts",
    metavar="DST_URL",
    help="Also copy the artifact files to this artifact store and point the rows there.",
)
@click.option(
    "--artifacts-from",
    metavar="SRC_URL",
    help="The source's artifact store (default: $ZVIZ_ARTIFACT_STORE, else SRC/artifacts).",
)
@click.option("--quiet", is_flag=True, help="No progress on stderr.")
def store_copy(
    source: str, destination: str, artifacts: str | None, artifacts_from: str | None, quiet: bool
) -> None:
    from zviz_core.store.__main__ import main as copy_main

    argv = ["copy", source, destination]
    if artifacts:
        argv += ["--artifacts", artifacts]
    if artifacts_from:
        argv += ["--artifacts-from", artifacts_from]
    if quiet:
        argv.append("--quiet")
    raise SystemExit(copy_main(argv))


# -- zviz demo ------------------------------------------------------------------------------------


@main.command(context_settings=CONTEXT)
@_where
@click.option(
    "--artifacts",
    metavar="URL",
    help="Where the demo's artifact files go (default: $ZVIZ_ARTIFACT_STORE, else the store "
    "folder's artifacts/; required for a PostgreSQL store).",
)
def demo(where: str | None, artifacts: str | None) -> None:
    """Seed the demo into a store.

    STORE is a folder or postgresql://… (default: ZVIZ_STORE_URL, else ZVIZ_HOME). The demo is a
    project with runs, models, a deployment and dashboards. Only an empty store is seeded; one
    that holds anything is left as it is."""
    try:
        from zviz_core.demo import ensure_demo
    except ImportError as exc:
        _fail(f'the demo needs the app extra ({exc.name}): pip install "zviz[app]"')
    from zviz_core import Client
    from zviz_core.store import forget_engines

    location = _locate(where)

    def progress(fraction: float, text: str) -> None:
        click.echo(f"  {fraction:4.0%} {text}", err=True)

    try:
        client = Client(home=location.home, store_url=location.url, artifact_store=artifacts)
        seeded = ensure_demo(client, progress=progress, asked=True)
    except ZvizError as exc:
        _fail(str(exc))
    finally:
        forget_engines(close=True)
    if seeded:
        click.echo(f"Seeded the demo into {location}. `zviz app` shows it.")
    else:
        click.echo(f"{location} is not empty: nothing was seeded.")


# -- the old entry point --------------------------------------------------------------------------


def legacy_auth_main(argv: list[str]) -> int:
    """`python -m zviz_core.ui.auth add-user CONFIG USERNAME ...` and `hash-password`, as they
    worked before `zviz users`; says what replaced them. Returns the exit status."""
    if argv[:1] == ["add-user"] and len(argv) >= 3:
        new = ["users", "add", argv[2], "--config", argv[1], *argv[3:]]
    elif argv[:1] == ["hash-password"]:
        new = ["users", "hash-password", *argv[1:]]
    else:
        click.echo(
            "python -m zviz_core.ui.auth is now `zviz users` (add, passwd, remove, list, "
            "hash-password): see `zviz users --help`.",
            err=True,
        )
        return 2
    click.echo(f"note: this is now `zviz {' '.join(new[:2])}`.", err=True)
    try:
        main.main(args=new, prog_name="zviz", standalone_mode=True)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


if __name__ == "__main__":
    main()
