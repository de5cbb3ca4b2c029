"""Property test: for random stores and random grants, every list and get returns exactly what
an independent reading of the access rules allows, and nothing else."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.core.access.conftest import in_project, p0, p1
from zviz_core import Client
from zviz_core.access import AccessConfig
from zviz_core.enums import VisualizationResourceTypes as R
from zviz_core.errors import EntityNotFoundError

PROJECTS = ["default", "research"]
PIPELINES = {"p0": p0, "p1": p1}


def grant_strategy(ids: dict[str, list[str]]) -> st.SearchStrategy[str]:
    """Grants over the names and ids that exist (and one that does not), by bare name and
    qualified with either project."""
    choices = [st.just("*")]
    for kind, values in ids.items():
        choices.append(st.just(f"{kind}:*"))
        targets = [*values, "nothing-here"]
        if kind != "project":
            targets += [f"{p}/{v}" for p in PROJECTS for v in values]
        choices.append(st.sampled_from(targets).map(lambda v, k=kind: f"{k}:{v}"))
    return st.one_of(choices)


def naming(kind: str, name: str, project: str) -> set[str]:
    """The grants that name `name` of `kind` in `project`: qualified, or bare in 'default'."""
    return {f"{kind}:{project}/{name}"} | ({f"{kind}:{name}"} if project == "default" else set())


def build_store(shape: list[tuple[str, str, int]]) -> dict:
    """Runs per (project, pipeline, k), a model and a deployment per project, and tiles on all."""
    owner = Client()
    owner.create_project("research")
    world: dict = {"runs": [], "models": [], "deployments": [], "tiles": []}
    for project, pipeline_name, k in shape:
        with in_project(project):
            run = PIPELINES[pipeline_name](k=k)
            world["runs"].append((project, run))
    for project in PROJECTS:
        with in_project(project):
            client = Client()
            runs = [r for p, r in world["runs"] if p == project]
            model = client.create_model(f"m-{project}")
            deployment = client.create_deployment(
                f"d-{project}", snapshot_id=runs[0].snapshot_id if runs else None
            )
            world["models"].append((project, model))
            world["deployments"].append((project, deployment))
            if runs:
                viz = runs[0].steps["page"].output.visualizations[0]
                targets = [
                    (R.MODEL, model.id),
                    (R.DEPLOYMENT, deployment.id),
                    (R.PIPELINE_RUN, runs[-1].id),
                    (R.PIPELINE, runs[-1].pipeline.id),
                    (R.PIPELINE_SNAPSHOT, runs[-1].snapshot_id),
                    (R.PROJECT, client.active_project.id),
                ]
                for rtype, rid in targets:
                    world["tiles"].append(
                        (
                            project,
                            rtype,
                            rid,
                            client.create_curated_visualization(viz.id, rid, rtype),
                        )
                    )
    return world


def allowed_run(run, project: str, grants: set[str]) -> bool:
    """The rules as DESIGN.md states them, written independently of zviz_core.access."""
    if "*" in grants or "project:*" in grants or "pipeline:*" in grants:
        return True
    if {f"project:{project}", f"project:{run.project_id}"} & grants:
        return True
    if (naming("pipeline", run.pipeline.name, project) | {f"pipeline:{run.pipeline.id}"}) & grants:
        return True
    if "pipeline_snapshot:*" in grants or f"pipeline_snapshot:{run.snapshot_id}" in grants:
        return True
    return bool(
        ({"pipeline_run:*", f"pipeline_run:{run.id}"} | naming("pipeline_run", run.name, project))
        & grants
    )


def allowed_named(kind: str, item, project: str, grants: set[str]) -> bool:
    if "*" in grants or "project:*" in grants or f"{kind}:*" in grants:
        return True
    if {f"project:{project}", f"project:{item.project_id}"} & grants:
        return True
    return bool(({f"{kind}:{item.id}"} | naming(kind, item.name, project)) & grants)


SHAPES = st.lists(
    st.tuples(st.sampled_from(PROJECTS), st.sampled_from(list(PIPELINES)), st.integers(0, 2)),
    min_size=1,
    max_size=5,
)
ID_SPACE = {
    "project": PROJECTS,
    "pipeline": list(PIPELINES),
    "model": [f"m-{p}" for p in PROJECTS],
    "deployment": [f"d-{p}" for p in PROJECTS],
}


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    shape=SHAPES,
    read=st.lists(grant_strategy(ID_SPACE), max_size=3),
    write=st.lists(grant_strategy(ID_SPACE), max_size=2),
    run_grant=st.booleans(),
)
def test_lists_and_gets_match_the_rules(fresh_store, shape, read, write, run_grant) -> None:
    with fresh_store():
        world = build_store(shape)
        if run_grant:  # grants by run name and by snapshot id need the store to exist first
            project, run = world["runs"][0]
            read = [*read, f"pipeline_run:{run.name}", f"pipeline_run:{project}/{run.name}"]
        grants = set(read) | set(write)
        config = AccessConfig.from_dict(
            {
                "credentials": {"usernames": {"u": {"name": "U", "roles": ["r"]}}},
                "access": {"roles": {"r": {"read": read, "write": write}}},
            }
        )
        for project in PROJECTS:
            with in_project(project):
                user = Client(user="u", access=config)
                expected_runs = {
                    r.id
                    for p, r in world["runs"]
                    if p == project and allowed_run(r, project, grants)
                }
                listed = user.list_pipeline_runs(size=100)
                assert {r.id for r in listed.items} == expected_runs
                assert listed.total == len(expected_runs)
                for p, run in world["runs"]:
                    if p != project:
                        continue
                    if run.id in expected_runs:
                        assert user.get_pipeline_run(run.id).id == run.id
                        assert len(user.get_pipeline_run(run.id).steps) == 1
                    else:
                        with pytest.raises(EntityNotFoundError):
                            user.get_pipeline_run(run.id)
                expected_avs = {
                    s.output.id
                    for p, r in world["runs"]
                    if r.id in expected_runs
                    for s in r.steps.values()
                }
                assert {a.id for a in user.list_artifact_versions(size=100).items} == expected_avs
                for kind, key in (("model", "models"), ("deployment", "deployments")):
                    expected = {
                        i.id
                        for p, i in world[key]
                        if p == project and allowed_named(kind, i, project, grants)
                    }
                    lister = user.list_models if kind == "model" else user.list_deployments
                    assert {i.id for i in lister().items} == expected
                pipelines = {r.pipeline.id: r.pipeline for p, r in world["runs"] if p == project}
                expected_pl = {
                    pid
                    for pid, pl in pipelines.items()
                    if allowed_named("pipeline", pl, project, grants)
                }
                assert {pl.id for pl in user.list_pipelines().items} == expected_pl
        owner = Client()
        for project, rtype, rid, tile in world["tiles"]:
            with in_project(project):
                user = Client(user="u", access=config)
                visible = _target_readable(owner, rtype, rid, project, grants, world)
                listed = {t.id for t in user.list_curated_visualizations(rtype, rid)}
                assert listed == ({tile.id} if visible else set())
                if not visible:
                    with pytest.raises(EntityNotFoundError):
                        user.get_curated_visualization(tile.id)


def _target_readable(owner: Client, rtype: R, rid, project: str, grants: set[str], world) -> bool:
    if rtype is R.PROJECT:
        return (
            "*" in grants
            or "project:*" in grants
            or bool({f"project:{project}", f"project:{rid}"} & grants)
        )
    if rtype is R.MODEL:
        return allowed_named("model", owner.get_model(rid), project, grants)
    if rtype is R.DEPLOYMENT:
        return allowed_named("deployment", owner.get_deployment(rid), project, grants)
    if rtype is R.PIPELINE:
        return allowed_named("pipeline", owner.get_pipeline(rid), project, grants)
    if rtype is R.PIPELINE_RUN:
        return allowed_run(owner.get_pipeline_run(rid), project, grants)
    snapshot = owner.get_snapshot(rid)
    if "*" in grants or "project:*" in grants or "pipeline:*" in grants:
        return True
    if {f"project:{project}", f"project:{snapshot.project_id}"} & grants:
        return True
    named = naming("pipeline", snapshot.pipeline_name, project)
    if (named | {f"pipeline:{snapshot.pipeline_id}"}) & grants:
        return True
    return "pipeline_snapshot:*" in grants or f"pipeline_snapshot:{rid}" in grants
