"""Shared fixtures: every test gets its own store folder; nothing touches ~/.zviz."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from zviz_core import Client
from zviz_core.store.db import Database


@pytest.fixture(autouse=True)
def zviz_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, empty store folder in ZVIZ_HOME, with no access config and no demo."""
    home = tmp_path / "store"
    monkeypatch.setenv("ZVIZ_HOME", str(home))
    monkeypatch.setenv("ZVIZ_DEMO", "0")
    for name in ("ZVIZ_ARTIFACT_STORE", "ZVIZ_AUTH_CONFIG", "ZVIZ_PROJECT", "ZVIZ_COOKIE_KEY"):
        monkeypatch.delenv(name, raising=False)
    yield home
    Database._forget_all()


@pytest.fixture
def client(zviz_home: Path) -> Client:
    """The local owner's client on the test's store."""
    return Client()


# -- a real S3-compatible server (moto in server mode) on 127.0.0.1 ----------------------------


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """The URL of a local S3 server that lives for the test session."""
    server_mod = pytest.importorskip("moto.server", reason="moto[server] is in the test extra")
    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_store(
    s3_endpoint: str, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> str:
    """A fresh bucket, with ZVIZ_ARTIFACT_STORE and AWS_* pointing at it; returns the store URL."""
    import boto3

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    bucket = f"zviz-{abs(hash(request.node.nodeid)) % 10**8}"
    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket=bucket)
    import s3fs

    s3fs.S3FileSystem.clear_instance_cache()
    url = f"s3://{bucket}/artifacts"
    monkeypatch.setenv("ZVIZ_ARTIFACT_STORE", url)
    return url
