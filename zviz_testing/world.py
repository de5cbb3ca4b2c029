"""A small team store for login tests: two pipelines, a model, tiles, hostile content, four users."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

import bcrypt
import yaml

from zviz_core import Client, pipeline, step
from zviz_core.models import PipelineRunResponse
from zviz_core.types import HTMLString, MarkdownString
from zviz_testing.factories import run_everything

COOKIE_KEY = "test-cookie-key-7f3b1c9e2d4a6b8c0e1f"
HOSTILE_NAME = (
    "<script>window.__zviz_pwned_name=1</script>"
    '<img src=x onerror="window.__zviz_pwned_name_img=1"> **Eve** <b>Hacker</b>'
)
HOSTILE_USER_NAME = '<script>window.__zviz_pwned_user=1</script><img src=x onerror="x()"> **Bob**'
HOSTILE_MARKDOWN = (
    "# Side notes\n\n"
    "<script>window.__zviz_pwned_md=1</script>\n\n"
    '<img src=x onerror="window.__zviz_pwned_md_img=1">\n\n'
    "<b>bold?</b> plain text after.\n"
)
# An HTML report that tries everything a stolen-session attack would: read the login cookie, reach
# into the app page, write storage, and navigate the top window. It marks its own document so a
# test can see that it did run (inside its sandbox).
ATTACK_HTML = """<!doctype html><html><head><title>attack</title></head><body>
<h1 id="attack-status">not run</h1>
<script>
  var out = [];
  try { out.push("cookie=" + document.cookie); } catch (e) { out.push("cookie blocked"); }
  try {
    window.parent.document.title = "PWNED";
    window.parent.document.body.insertAdjacentHTML("beforeend", "<div id=zviz-pwned>x</div>");
    out.push("parent reached");
  } catch (e) { out.push("parent blocked"); }
  try {
    window.top.document.body.insertAdjacentHTML("beforeend", "<div id=zviz-pwned-top>x</div>");
    out.push("top reached");
  } catch (e) { out.push("top blocked"); }
  try { window.top.document.cookie = "zviz_stolen=1; path=/"; } catch (e) {}
  try { localStorage.setItem("zviz-pwned", "1"); out.push("storage written"); }
  catch (e) { out.push("storage blocked"); }
  try { window.top.location.href = "about:blank#pwned"; } catch (e) { out.push("nav blocked"); }
  document.getElementById("attack-status").textContent = "ran: " + out.join("; ");
</script></body></html>"""


@step
def hostile_notes() -> Annotated[MarkdownString, "notes"]:
    return MarkdownString(HOSTILE_MARKDOWN)


@step
def hostile_page() -> Annotated[HTMLString, "page"]:
    return HTMLString(ATTACK_HTML)


@pipeline
def side_job() -> None:
    hostile_notes()
    hostile_page()


@dataclass(frozen=True)
class User:
    username: str
    name: str
    password: str
    roles: tuple[str, ...]


USERS = {
    "admin": User("admin", "Ada Admin", "admin-pass-123", ("admin",)),
    "alice": User("alice", "Alice Analyst", "alice-pass-123", ("scientist",)),
    "bob": User("bob", HOSTILE_USER_NAME, "bob-pass-123", ("viewer",)),
    "carol": User("carol", "Carol Nobody", "carol-pass-123", ()),
}
ROLES = {
    "admin": {"read": ["*"], "write": ["*"]},
    "scientist": {"read": ["model:*"], "write": ["pipeline:everything"]},
    "viewer": {"read": ["pipeline:side_job", "model:classifier"]},
}


@dataclass(frozen=True)
class World:
    """What the team store holds, by name."""

    everything_run: PipelineRunResponse
    side_run: PipelineRunResponse
    everything_id: UUID
    side_id: UUID
    model_id: UUID
    deployment_id: UUID
    tiles: dict[str, str]  # tile display name -> what it is pinned to


def hash_passwords() -> dict[str, str]:
    """bcrypt hashes of the users' passwords (4 rounds: real bcrypt, fast enough for tests)."""
    return {
        u.username: bcrypt.hashpw(u.password.encode(), bcrypt.gensalt(rounds=4)).decode()
        for u in USERS.values()
    }


def auth_config(hashes: dict[str, str]) -> dict[str, Any]:
    """The authenticator + access config of USERS (cookie key left to $ZVIZ_COOKIE_KEY)."""
    return {
        "credentials": {
            "usernames": {
                u.username: {
                    "name": u.name,
                    "email": f"{u.username}@example.com",
                    "password": hashes[u.username],
                    "roles": list(u.roles),
                }
                for u in USERS.values()
            }
        },
        "cookie": {"name": "zviz_test_auth", "expiry_days": 1},
        "access": {"roles": ROLES},
    }


def write_auth_config(path: Path, hashes: dict[str, str]) -> Path:
    """Write the config as YAML to `path` and return it."""
    path.write_text(yaml.safe_dump(auth_config(hashes), sort_keys=False), encoding="utf-8")
    return path


def _viz(run: PipelineRunResponse, step_name: str, output: str) -> UUID:
    return run.steps[step_name].outputs[output][0].visualizations[0].id


def build_world() -> World:
    """Fill the store of $ZVIZ_HOME (as the owner) and return what it holds."""
    owner = Client()
    everything_run = owner.get_pipeline_run(run_everything().id)
    side_run = owner.get_pipeline_run(side_job().id)
    model = owner.create_model("classifier", "a model")
    deployment = owner.create_deployment("serving", everything_run.snapshot_id)
    everything_id = everything_run.pipeline.id
    side_id = side_run.pipeline.id
    project_id = owner.active_project.id
    pins = [
        ("Project report", _viz(everything_run, "report", "report"), project_id, "project"),
        ("Everything card", _viz(everything_run, "card", "card"), everything_id, "pipeline"),
        ("Attack page", _viz(side_run, "hostile_page", "page"), side_id, "pipeline"),
        (HOSTILE_NAME, _viz(side_run, "hostile_notes", "notes"), side_id, "pipeline"),
        ("Model metrics", _viz(everything_run, "metrics", "metrics"), model.id, "model"),
        (
            "Serving metrics",
            _viz(everything_run, "metrics", "metrics"),
            deployment.id,
            "deployment",
        ),
    ]
    tiles = {}
    for order, (name, viz, resource_id, kind) in enumerate(pins, start=1):
        owner.create_curated_visualization(
            viz, resource_id, kind, display_name=name, display_order=10 * order
        )
        tiles[name] = kind
    return World(everything_run, side_run, everything_id, side_id, model.id, deployment.id, tiles)
