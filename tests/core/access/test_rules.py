"""Access rules enforced by the core: lists filtered in SQL, unreadable means not found,
writes refused with the missing grant named, and bad configs refused at load with their line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.core.access.conftest import in_project, p0, p1, write_config
from zviz_core import Client
from zviz_core.access import AccessConfig
from zviz_core.enums import VisualizationResourceTypes as R
from zviz_core.errors import AccessDeniedError, ConfigError, EntityNotFoundError


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    owner = Client()
    owner.create_project("research")
    training = p0(k=1)
    p1(k=2)
    with in_project("research"):
        secret = p0(k=3)
    model = owner.create_model("clf")
    deployment = owner.create_deployment("serving", snapshot_id=training.snapshot_id)
    viz = training.steps["page"].output.visualizations[0]
    tiles = {
        "pipeline": owner.create_curated_visualization(viz.id, training.pipeline.id, R.PIPELINE),
        "model": owner.create_curated_visualization(viz.id, model.id, R.MODEL),
        "deployment": owner.create_curated_visualization(viz.id, deployment.id, R.DEPLOYMENT),
    }
    config = write_config(
        tmp_path / "auth.yaml",
        users={"alice": ["admin"], "bob": ["viewer"], "carol": [], "dave": ["modeller"]},
        roles={
            "admin": {"read": ["*"], "write": ["*"]},
            "viewer": {"read": ["pipeline:p0", "model:*"], "write": ["model:*"]},
            "modeller": {"read": [], "write": ["model:clf"]},
        },
        grants={"bob": {"read": ["deployment:serving"]}},
    )
    monkeypatch.setenv("ZVIZ_AUTH_CONFIG", str(config))
    return {
        "training": training,
        "secret": secret,
        "model": model,
        "deployment": deployment,
        "viz": viz,
        "tiles": tiles,
    }


def names(page) -> set[str]:
    return {item.name for item in page.items}


def test_owner_and_admin_see_everything(world: dict) -> None:
    for client in (Client(), Client(user="alice")):
        assert names(client.list_pipelines()) == {"p0", "p1"}
        assert client.list_pipeline_runs().total == 2
        assert len(client.list_curated_visualizations(R.MODEL, world["model"].id)) == 1


def test_viewer_sees_only_granted_pipeline_and_its_runs(world: dict) -> None:
    bob = Client(user="bob")
    assert names(bob.list_pipelines()) == {"p0"}
    runs = bob.list_pipeline_runs()
    assert runs.total == 1 and runs.items[0].id == world["training"].id
    assert {a.name for a in bob.list_artifact_versions().items} == {"p0::page::output"}
    assert names(bob.list_models()) == {"clf"}
    assert names(bob.list_deployments()) == {"serving"}
    with in_project("research"):
        research_bob = Client(user="bob")
        # "pipeline:p0" names the p0 of the project default, never its namesake in research.
        assert research_bob.list_pipelines().total == 0
        assert research_bob.list_pipeline_runs(all_projects=True).total == 1
        with pytest.raises(EntityNotFoundError):
            research_bob.get_pipeline_run(world["secret"].id)


def test_unreadable_behaves_like_missing(world: dict) -> None:
    carol = Client(user="carol")
    with pytest.raises(EntityNotFoundError) as hidden:
        carol.get_pipeline_run(world["training"].id)
    import uuid

    with pytest.raises(EntityNotFoundError) as missing:
        carol.get_pipeline_run(uuid.uuid4())
    assert str(hidden.value).replace(str(world["training"].id), "ID") == str(missing.value).replace(
        str(missing.value).split()[3], "ID"
    )
    assert carol.list_pipeline_runs().total == 0
    assert carol.list_pipelines().total == 0
    assert carol.list_curated_visualizations(R.PIPELINE, world["training"].pipeline.id) == []
    with pytest.raises(EntityNotFoundError):
        carol.get_curated_visualization(world["tiles"]["pipeline"].id)
    with pytest.raises(EntityNotFoundError):
        carol.load_visualization(world["viz"].id)
    with pytest.raises(EntityNotFoundError):
        carol.delete_pipeline_run(world["training"].id)


def test_unknown_user_sees_nothing(world: dict) -> None:
    mallory = Client(user="mallory")
    assert mallory.list_pipeline_runs().total == 0
    assert mallory.list_models().total == 0
    assert mallory.list_projects().total == 0


def test_tiles_visible_with_read_editable_with_write(world: dict) -> None:
    bob = Client(user="bob")
    tile = world["tiles"]["deployment"]
    assert bob.get_curated_visualization(tile.id).id == tile.id  # read grant on the deployment
    assert not bob.can_write(R.DEPLOYMENT, world["deployment"].id)
    with pytest.raises(AccessDeniedError, match="deployment:serving"):
        bob.update_curated_visualization(tile.id, display_name="mine now")
    with pytest.raises(AccessDeniedError):
        bob.delete_curated_visualization(tile.id)
    assert Client().get_curated_visualization(tile.id).display_name is None  # nothing changed
    model_tile = world["tiles"]["model"]
    assert bob.can_write(R.MODEL, world["model"].id)
    updated = bob.update_curated_visualization(model_tile.id, display_name="Bob's view")
    assert updated.display_name == "Bob's view"


def test_a_tile_never_names_a_source_its_viewer_cannot_read(world: dict) -> None:
    dave = Client(user="dave")  # may write the model, may read no run
    tile = dave.list_curated_visualizations(R.MODEL, world["model"].id)[0]
    assert not tile.source_readable
    assert (tile.run_id, tile.run_name, tile.artifact_name, tile.artifact_version) == (None,) * 4
    assert world["training"].name not in tile.model_dump_json()
    assert tile.artifact_visualization is not None  # the pinned content itself is shown
    owners = Client().get_curated_visualization(tile.id)
    assert owners.source_readable and owners.run_id == world["training"].id


def test_write_grant_implies_read_and_pinning_needs_readable_visualization(world: dict) -> None:
    dave = Client(user="dave")
    assert names(dave.list_models()) == {"clf"}  # write implies read
    assert dave.list_pipeline_runs().total == 0
    with pytest.raises(EntityNotFoundError):  # the visualization comes from an unreadable run
        dave.create_curated_visualization(world["viz"].id, world["model"].id, R.MODEL)
    with pytest.raises(AccessDeniedError, match="model"):
        dave.create_model("another")
    bob = Client(user="bob")
    with pytest.raises(AccessDeniedError, match="pipeline"):
        bob.create_curated_visualization(
            world["viz"].id, world["training"].pipeline.id, R.PIPELINE, display_order=5
        )
    Client().delete_curated_visualization(world["tiles"]["model"].id)
    tile = bob.create_curated_visualization(
        world["viz"].id, world["model"].id, R.MODEL, display_order=5
    )
    assert tile.resource.type is R.MODEL


def test_client_with_user_needs_a_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ZVIZ_AUTH_CONFIG", raising=False)
    with pytest.raises(ConfigError, match="ZVIZ_AUTH_CONFIG"):
        Client(user="bob")


@pytest.mark.parametrize(
    ("text", "line", "needle"),
    [
        ("access:\n  roles:\n    a: {read: ['pipline:x']}\n", 3, "unknown resource type 'pipline'"),
        (
            "access:\n  roles:\n    a:\n      read:\n        - '*'\n        - 'model'\n",
            6,
            "not of the form",
        ),
        ("credentials:\n  usernames:\n    bob:\n      roles: [ghost]\n", 4, "'ghost'"),
        ("access:\n  roles: [1, 2\n", 3, "not valid YAML"),
        ("access:\n  roles:\n    a: {reed: ['*']}\n", 3, "unknown key 'reed'"),
    ],
)
def test_bad_config_names_the_line(text: str, line: int, needle: str) -> None:
    with pytest.raises(ConfigError) as err:
        AccessConfig.from_yaml(text, source="auth.yaml")
    assert f"line {line}" in str(err.value)
    assert needle in str(err.value)


@pytest.mark.parametrize(
    ("grant", "needle"),
    [
        ("pipeline:/training", "ambiguous"),
        ("model:research/", "ambiguous"),
        ("pipeline_snapshot:nightly", "snapshots have no names"),
        ("project:a/b", "cannot contain '/'"),
    ],
)
def test_ambiguous_grants_are_refused_with_their_line(grant: str, needle: str) -> None:
    text = f"access:\n  roles:\n    a:\n      read:\n        - 'model:*'\n        - '{grant}'\n"
    with pytest.raises(ConfigError) as err:
        AccessConfig.from_yaml(text, source="auth.yaml")
    assert "auth.yaml line 6" in str(err.value) and needle in str(err.value)


def test_a_qualified_name_grant_reaches_into_its_project_only(world: dict, tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "q.yaml",
        users={"rita": ["r"]},
        roles={"r": {"read": ["pipeline:research/p0"], "write": ["pipeline:research/p0"]}},
    )
    rita = Client(user="rita", access=AccessConfig.from_path(config))
    assert rita.list_pipelines().total == 0  # the p0 of the project default is not hers
    with pytest.raises(EntityNotFoundError):
        rita.get_pipeline_run(world["training"].id)
    with in_project("research"):
        rita = Client(user="rita", access=AccessConfig.from_path(config))
        assert names(rita.list_pipelines()) == {"p0"}
        assert rita.get_pipeline_run(world["secret"].id).id == world["secret"].id
        rita.delete_pipeline_run(world["secret"].id)
    assert Client().list_pipeline_runs(all_projects=True).total == 2


def test_a_refused_write_names_the_grant_with_its_project(world: dict, tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "ro.yaml", users={"olga": ["r"]}, roles={"r": {"read": ["project:research"]}}
    )
    with in_project("research"):
        olga = Client(user="olga", access=AccessConfig.from_path(config))
        with pytest.raises(AccessDeniedError) as refused:
            olga.delete_pipeline_run(world["secret"].id)
        assert f"pipeline_run:research/{world['secret'].name}" in str(refused.value)
        with pytest.raises(AccessDeniedError) as refused:
            olga.create_model("new")
        assert "model:research/new" in str(refused.value)


ALL_KINDS = {"pipeline", "pipeline_snapshot", "pipeline_run", "artifact_version", "model"} | {
    "deployment"
}


@pytest.mark.parametrize(
    ("grants", "reachable"),
    [
        (["*"], ALL_KINDS),
        (["project:default"], ALL_KINDS),
        (["pipeline:p0"], {"pipeline", "pipeline_snapshot", "pipeline_run", "artifact_version"}),
        (["pipeline_run:*"], {"pipeline_run", "artifact_version"}),
        (["model:clf", "deployment:serving"], {"model", "deployment"}),
        ([], set()),
    ],
)
def test_may_read_some_says_which_kinds_the_grants_reach(
    grants: list[str], reachable: set[str]
) -> None:
    config = AccessConfig.from_dict(
        {
            "credentials": {"usernames": {"eve": {"roles": ["r"]}}},
            "access": {"roles": {"r": {"read": grants}}},
        }
    )
    policy = config.policy_for("eve")
    assert {kind for kind in ALL_KINDS if policy.may_read_some(kind)} == reachable
