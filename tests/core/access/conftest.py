"""Fixtures for access tests: a small store with two projects, and auth configs written to disk."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml

from zviz_core import Client, pipeline, step
from zviz_core.types import HTMLString


@step
def page(k: int) -> HTMLString:
    return HTMLString(f"<p>{k}</p>")


@pipeline
def p0(k: int = 0) -> None:
    page(k)


@pipeline
def p1(k: int = 0) -> None:
    page(k)


@contextmanager
def in_project(name: str) -> Iterator[None]:
    """Run the body with ZVIZ_PROJECT set, so pipelines and Clients use that project."""
    old = os.environ.get("ZVIZ_PROJECT")
    os.environ["ZVIZ_PROJECT"] = name
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("ZVIZ_PROJECT", None)
        else:
            os.environ["ZVIZ_PROJECT"] = old


def write_config(
    path: Path,
    users: dict[str, list[str]],
    roles: dict[str, dict],
    grants: dict[str, dict] | None = None,
) -> Path:
    """An authenticator YAML with the given users (name -> roles) and access rules."""
    config = {
        "credentials": {
            "usernames": {
                u: {"name": u.title(), "email": f"{u}@example.com", "password": "x", "roles": r}
                for u, r in users.items()
            }
        },
        "cookie": {"name": "zviz_auth", "key": "test-only", "expiry_days": 1},
        "access": {"roles": roles, "users": grants or {}},
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def owner() -> Client:
    return Client()
