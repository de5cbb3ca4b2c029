"""In Chromium, a dashboard whose artifacts live in an S3 bucket (moto on 127.0.0.1) shows
every visualization type."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.conftest import (
    Server,
    _app_cwd,
    env_vars,
    main_text,
    no_exception_shown,
    open_url,
    start_server,
    stop_server,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def s3_app(
    chromium_path: str, s3_endpoint: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    import boto3
    import s3fs

    from zviz_core import Client
    from zviz_core.store.db import Database
    from zviz_testing.factories import run_everything

    tmp: Path = tmp_path_factory.mktemp("s3app")
    aws = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": s3_endpoint,
    }
    env = {
        "ZVIZ_HOME": str(tmp / "store"),
        "ZVIZ_DEMO": "0",
        "ZVIZ_ARTIFACT_STORE": "s3://zviz-browser/artifacts",
        **aws,
    }
    with env_vars(**env, ZVIZ_AUTH_CONFIG=None, ZVIZ_PROJECT=None):
        boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket="zviz-browser")
        s3fs.S3FileSystem.clear_instance_cache()
        run = run_everything()
        client = Client()
        for step in run.steps.values():
            viz = step.output.visualizations[0]
            client.create_curated_visualization(
                viz.id, client.active_project.id, "project", display_name=f"{step.name} tile"
            )
    Database._forget_all()
    server = start_server(env, tmp / "streamlit.log", _app_cwd(tmp))
    yield server
    stop_server(server)


def test_every_type_renders_from_the_bucket(s3_app: Server, new_context) -> None:
    page = new_context().new_page()
    open_url(page, s3_app.url)
    page.locator("[data-testid=stVegaLiteChart]").first.wait_for()
    assert not no_exception_shown(page)
    text = main_text(page)
    assert "cannot reach" not in text
    assert "Model card" in text
    for selector in (
        "iframe",
        "[data-testid=stImage] img",
        "[data-testid=stDataFrame]",
        "[data-testid=stJson]",
        "[data-testid=stVegaLiteChart]",
    ):
        assert page.locator(selector).count() > 0, selector
    image = page.locator("[data-testid=stImage] img").first
    assert image.evaluate("img => img.complete && img.naturalWidth") == 64
