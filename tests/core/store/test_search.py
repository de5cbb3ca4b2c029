"""Finding artifact versions: words across artifact, run, pipeline and step names, filters, the
counts kept by the writes, and the capped count of a search in a big store (issue 11 and 14)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import pytest

from tests.core.store.test_schema import raw_cursor
from zviz_core import Client, pipeline, step
from zviz_core.errors import InvalidInputError
from zviz_core.store import artifacts as artifact_sql
from zviz_core.store import forget_engines, schema
from zviz_core.types import HTMLString, MarkdownString


@step
def load_wine() -> Annotated[pd.DataFrame, "wine_table"]:
    return pd.DataFrame({"alcohol": [12.1, 13.4], "quality": [5, 7]})


@step
def evaluate(df: pd.DataFrame) -> Annotated[HTMLString, "confusion_matrix"]:
    return HTMLString(f"<p>{len(df)} rows</p>")


@step
def summarize() -> Annotated[MarkdownString, "notes"]:
    return MarkdownString("# notes")


@pipeline(enable_cache=False)
def random_forest_training() -> None:
    evaluate(load_wine())


@pipeline(enable_cache=False)
def toy() -> None:
    summarize()


def _names(page) -> list[tuple[str, int]]:
    return [(v.name, v.version) for v in page.items]


def test_words_match_artifact_run_pipeline_and_step_names(client: Client) -> None:
    forest = random_forest_training()
    toy()
    found = client.list_artifact_versions(search="confusion matrix")
    assert _names(found) == [("confusion_matrix", 1)]
    # "forest" is only in the pipeline's name; each word may match a different name.
    found = client.list_artifact_versions(search="Forest evaluate")
    assert _names(found) == [("confusion_matrix", 1)]
    assert {v.name for v in client.list_artifact_versions(search="forest").items} == {
        "wine_table",
        "confusion_matrix",
    }
    by_run = client.list_artifact_versions(search=forest.name)
    assert by_run.total == 2 and not by_run.total_capped
    assert client.list_artifact_versions(search="forest notes").total == 0
    # the versions carry their sources' names, as read from the runs
    version = found.items[0]
    assert (version.run_name, version.pipeline_name, version.step_name) == (
        forest.name,
        "random_forest_training",
        "evaluate",
    )


def test_pipeline_and_visualization_type_filters(client: Client) -> None:
    random_forest_training()
    toy()
    in_toy = client.list_artifact_versions(pipeline_name="toy")
    assert _names(in_toy) == [("notes", 1)]
    html = client.list_artifact_versions(visualization_type="html")
    assert _names(html) == [("confusion_matrix", 1)]
    both = client.list_artifact_versions(pipeline_name="random_forest_training", search="wine")
    assert _names(both) == [("wine_table", 1)]
    with pytest.raises(InvalidInputError, match="visualization_type must be one of"):
        client.list_artifact_versions(visualization_type="pdf")


def test_pages_are_newest_first_and_counts_follow_deletes(client: Client) -> None:
    runs = [random_forest_training() for _ in range(4)]
    everything = []
    page = 1
    while True:
        found = client.list_artifact_versions(page=page, size=3)
        assert found.total == 8
        everything += found.items
        if page >= found.total_pages:
            break
        page += 1
    assert [v.created for v in everything] == sorted((v.created for v in everything), reverse=True)
    assert len({v.id for v in everything}) == 8
    client.delete_pipeline_run(runs[0].id)
    client.delete_artifact_version(runs[1].steps["evaluate"].output.id)
    assert client.list_artifact_versions().total == 5
    assert client.list_artifact_versions(name_contains="CONFUSION").total == 2
    assert client.list_artifact_versions(artifact_name="wine_table").total == 3


def test_a_search_counts_up_to_its_cap_and_still_pages_newest_first(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = [random_forest_training() for _ in range(5)]
    monkeypatch.setattr(artifact_sql, "SEARCH_CAP", 3)
    found = client.list_artifact_versions(search="wine", size=2)
    assert found.total == 3 and found.total_capped
    newest = [r.steps["load_wine"].output.id for r in reversed(runs)]
    assert [v.id for v in found.items] == newest[:2]
    second = client.list_artifact_versions(search="wine", size=2, page=2)
    assert [v.id for v in second.items] == newest[2:4]
    exact = client.list_artifact_versions(search=f"{runs[0].name} evaluate")
    assert exact.total == 1 and not exact.total_capped


def test_the_v9_backfill_restores_names_folders_and_counts(engine: str, zviz_home: Path) -> None:
    client = Client()
    run = random_forest_training()
    random_forest_training()
    viz = run.steps["evaluate"].output.visualizations[0]
    tile = client.create_curated_visualization(
        artifact_visualization_id=viz.id, resource_id=run.pipeline.id, resource_type="pipeline"
    )
    forget_engines(close=True)
    with raw_cursor(engine, zviz_home) as cur:
        cur.execute(
            "UPDATE artifact_versions SET run_name = NULL, step_name = NULL, pipeline_name = NULL"
        )
        cur.execute("UPDATE curated_visualizations SET viz_folder = NULL")
        cur.execute("UPDATE artifacts SET versions = 0, latest_at = NULL")
        for script in (
            schema.BACKFILL_TILE_FOLDERS,
            schema.BACKFILL_VERSION_NAMES,
            schema.REBUILD_ARTIFACT_COUNTS,
        ):
            for statement in filter(str.strip, script.split(";")):
                cur.execute(statement)
    client = Client()
    found = client.list_artifact_versions(search=f"{run.name} evaluate")
    assert [v.id for v in found.items] == [run.steps["evaluate"].output.id]
    assert found.items[0].pipeline_name == "random_forest_training"
    assert client.list_artifact_versions().total == 4
    shown = client.get_curated_visualization(tile.id)
    assert client.load_visualization_content(shown.artifact_visualization).value.startswith("<p>")


@pytest.mark.postgres_only
def test_postgres_reads_the_newest_versions_through_an_index_not_a_sort(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The newest page must not sort every version of the store: at 1M versions that sort took
    0.3 s a page (bench/run.py), through the index 2 ms. PostgreSQL picks plans by cost, so the
    test forbids sorts and sequential scans and checks the page's own query can still be
    answered, by reading migration 13's index backwards."""
    from zviz_core.store.postgres import PgCursor

    random_forest_training()
    random_forest_training()
    seen: list[tuple[str, object]] = []
    original = PgCursor.execute

    def spy(self: PgCursor, sql: str, params: object = None) -> PgCursor:
        seen.append((sql, params))
        return original(self, sql, params)

    monkeypatch.setattr(PgCursor, "execute", spy)
    assert len(client.list_artifact_versions(size=2).items) == 2
    monkeypatch.setattr(PgCursor, "execute", original)
    [(sql, params)] = [(s, p) for s, p in seen if "ORDER BY av.created DESC" in s]
    with raw_cursor("postgres", Path()) as cur:
        cur.execute("SET enable_sort = off")
        cur.execute("SET enable_seqscan = off")
        plan = "\n".join(r[0] for r in cur.execute(f"EXPLAIN {sql}", params).fetchall())
    assert "Index Scan Backward using artifact_versions_project_created" in plan, plan
