"""In Chromium, the app on a team store (metadata in PostgreSQL, artifacts in a local S3 server):
two users of two teams log in at once, and each sees their own team's runs, pipelines, models
and tiles, and nothing of the other's."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import bcrypt
import pytest
import yaml

from tests.browser.conftest import (
    Server,
    _app_cwd,
    env_vars,
    log_in,
    main_text,
    no_exception_shown,
    open_url,
    start_server,
    stop_server,
)
from zviz_core import Client, pipeline
from zviz_core.store import forget_engines
from zviz_testing import pg
from zviz_testing.factories import card, frame, report
from zviz_testing.world import COOKIE_KEY

pytestmark = pytest.mark.browser

# Each team: its user, its pipeline, its model and the tile pinned to its pipeline.
TEAMS = {
    "ana": {"name": "Ana Alpha", "pipeline": "alpha_training", "model": "alpha-model"},
    "ben": {"name": "Ben Beta", "pipeline": "beta_forecast", "model": "beta-model"},
}
PASSWORD = "team-pass-123"


def _auth_config() -> dict[str, Any]:
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
    return {
        "credentials": {
            "usernames": {
                user: {
                    "name": team["name"],
                    "email": f"{user}@example.com",
                    "password": hashed,
                    "roles": [f"team-{user}"],
                }
                for user, team in TEAMS.items()
            }
        },
        "cookie": {"name": "zviz_team_auth", "expiry_days": 1},
        "access": {
            "roles": {
                f"team-{user}": {
                    "read": [f"pipeline:{team['pipeline']}", f"model:{team['model']}"],
                    "write": [f"pipeline:{team['pipeline']}"],
                }
                for user, team in TEAMS.items()
            }
        },
    }


def _seed() -> dict[str, dict[str, str]]:
    """Two runs of each team's pipeline, its model, and a tile on its pipeline, written by the
    owner through the core into $ZVIZ_STORE_URL; returns what each team got, by name and id."""
    owner = Client()
    seeded: dict[str, dict[str, str]] = {}
    for user, team in TEAMS.items():

        @pipeline(name=team["pipeline"])
        def job() -> None:
            report(frame())
            card()

        runs = [job(), job()]
        owner.create_model(team["model"])
        viz = runs[0].steps["report"].output.visualizations[0]
        tile = f"{team['name'].split()[1]} report tile"
        owner.create_curated_visualization(
            viz.id, runs[0].pipeline.id, "pipeline", display_name=tile
        )
        seeded[user] = {
            "run": runs[1].name,
            "run_id": str(runs[1].id),
            "pipeline_id": str(runs[0].pipeline.id),
            "tile": tile,
        }
    return seeded


@pytest.fixture(scope="module")
def team_app(
    chromium_path: str,
    pg_server: pg.PgServer,
    pg_template: str,
    s3_endpoint: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Server]:
    import boto3
    import s3fs

    tmp: Path = tmp_path_factory.mktemp("teamapp")
    url = pg_server.create_database(template=pg_template)
    config = tmp / "auth.yaml"
    config.write_text(yaml.safe_dump(_auth_config(), sort_keys=False), encoding="utf-8")
    env = {
        "ZVIZ_STORE_URL": url,
        "ZVIZ_ARTIFACT_STORE": "s3://zviz-team/artifacts",
        "ZVIZ_DEMO": "0",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": s3_endpoint,
    }
    # The seeding machine and the app's machine share no folder: only the database and bucket.
    with env_vars(**env, ZVIZ_HOME=str(tmp / "seeder"), ZVIZ_AUTH_CONFIG=None, ZVIZ_PROJECT=None):
        boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket="zviz-team")
        s3fs.S3FileSystem.clear_instance_cache()
        forget_engines(close=True)
        seeded = _seed()
        forget_engines(close=True)
    app_env = {
        **env,
        "ZVIZ_HOME": str(tmp / "app"),
        "ZVIZ_AUTH_CONFIG": str(config),
        "ZVIZ_COOKIE_KEY": COOKIE_KEY,
    }
    server = start_server(app_env, tmp / "streamlit.log", _app_cwd(tmp))
    server.info["seeded"] = seeded
    yield server
    stop_server(server)
    pg_server.drop_database(url)


def _visible(page: Any, url: str) -> str:
    open_url(page, url)
    assert not no_exception_shown(page), no_exception_shown(page)
    return main_text(page)


def test_two_users_of_two_teams_each_see_only_their_own(team_app: Server, new_context) -> None:
    seeded = team_app.info["seeded"]
    pages = {}
    for user, team in TEAMS.items():  # both logged in at once, in their own browsers
        page = new_context().new_page()
        open_url(page, team_app.url)
        log_in(page, user, PASSWORD, team["name"])
        pages[user] = page

    for user, team in TEAMS.items():
        page, mine = pages[user], seeded[user]
        other_user = next(u for u in TEAMS if u != user)
        other, theirs = TEAMS[other_user], seeded[other_user]
        base = team_app.url

        runs = _visible(page, f"{base}/runs")
        assert mine["run"] in runs and "of 2," in runs
        assert other["pipeline"] not in runs and theirs["run"] not in runs

        pipelines = _visible(page, f"{base}/pipelines")
        assert team["pipeline"] in pipelines and other["pipeline"] not in pipelines

        models = _visible(page, f"{base}/models")
        assert team["model"] in models and other["model"] not in models

        dashboard = _visible(page, f"{base}/pipelines?id={mine['pipeline_id']}")
        assert mine["tile"] in dashboard and theirs["tile"] not in dashboard
        # The tile's report is read from the bucket, not from anyone's disk.
        report_frame = page.locator("iframe[srcdoc]").first
        report_frame.wait_for()
        assert "Report" in str(report_frame.get_attribute("srcdoc"))
        assert "cannot reach" not in dashboard

        # The other team's run and dashboard, opened by id, are as if they did not exist.
        for url in (
            f"{base}/runs?id={theirs['run_id']}",
            f"{base}/pipelines?id={theirs['pipeline_id']}",
        ):
            text = _visible(page, url)
            assert "may not see it" in text
            assert theirs["run"] not in text and theirs["tile"] not in text
            assert other["pipeline"] not in text
