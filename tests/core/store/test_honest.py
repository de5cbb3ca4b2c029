"""The store tells the truth about what it committed: caches never trust a missing token, a
failed token write fails the write, a damaged database is named as such and takes no writes, a
store re-created under a running process is seen, a run deleted while it runs takes no more
steps, and a stale edit never reverts someone else's."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb
import pytest

from tests.core.helpers import run_python
from tests.core.store.test_schema import raw_cursor
from zviz_core import Client, pipeline, step
from zviz_core.errors import ConflictError, RunGoneError, StoreCorruptError, StoreError
from zviz_core.store import forget_engines
from zviz_core.store.db import DB_FILE, STORE_ID_FILE, TOKEN_FILE, Database
from zviz_core.types import MarkdownString


@step
def first() -> MarkdownString:
    return MarkdownString("# one")


@pytest.mark.duckdb_only
def test_a_missing_token_means_the_cache_is_not_trusted(client: Client, zviz_home: Path) -> None:
    client.create_model("kept")
    assert client.list_models().total == 1
    assert client.list_models().total == 1  # cached
    forget_engines()
    con = duckdb.connect(str(zviz_home / DB_FILE))
    con.execute("UPDATE models SET name = 'renamed behind the cache'")
    con.close()
    (zviz_home / TOKEN_FILE).unlink()
    assert [m.name for m in client.list_models().items] == ["renamed behind the cache"]


@pytest.mark.duckdb_only
def test_a_token_that_cannot_be_written_fails_the_write_before_it_commits(
    client: Client, zviz_home: Path
) -> None:
    client.create_model("before")
    token = zviz_home / TOKEN_FILE
    token.unlink()
    token.mkdir()  # no file can be written there now
    with pytest.raises(StoreError):
        client.create_model("after")
    token.rmdir()
    assert [m.name for m in client.list_models().items] == ["before"]
    client.create_model("after")  # nothing half-done: the same name is free
    assert client.list_models().total == 2


def _damage(path: Path) -> None:
    """Flip bytes in every block but the header: any table read then fails its checksum."""
    data = bytearray(path.read_bytes())
    for offset in range(12288 + 100, len(data), 4096):
        data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.duckdb_only
def test_a_damaged_database_is_one_readable_error_and_takes_no_writes(
    client: Client, zviz_home: Path
) -> None:
    for i in range(20):
        client.create_model(f"m{i}")
    forget_engines()
    _damage(zviz_home / DB_FILE)
    with pytest.raises(StoreCorruptError) as read:
        Client().list_models()
    message = str(read.value)
    assert "damaged" in message and "python -m zviz_core.store copy" in message
    with pytest.raises(StoreCorruptError):
        Client().create_model("written anyway")
    # Another process is refused too, without opening the file for writing.
    done = run_python(
        """
        from zviz_core import Client
        from zviz_core.errors import StoreCorruptError
        try:
            Client().create_model("from elsewhere")
        except StoreCorruptError as exc:
            print("refused:", exc)
        """,
        zviz_home,
    )
    assert "refused:" in done.stdout and "damaged" in done.stdout


def _wipe(engine: str, home: Path) -> None:
    """Delete the store under the running test process (its folder, or its schema)."""
    if engine == "postgres":
        with raw_cursor(engine, home) as cur:
            cur.execute("DROP SCHEMA public CASCADE")
            cur.execute("CREATE SCHEMA public")
    else:
        shutil.rmtree(home)


# Another process runs this pipeline in a store made anew.
AFTER_RESET = """
from zviz_core import pipeline, step

@step
def fresh() -> int:
    return 1

@pipeline
def after_reset() -> None:
    fresh()

after_reset()
"""


@pipeline
def early() -> None:
    first()


def test_a_store_re_created_under_a_running_process_is_seen(
    client: Client, zviz_home: Path, engine: str
) -> None:
    early()
    assert client.list_pipeline_runs().total == 1
    _wipe(engine, zviz_home)
    run_python(AFTER_RESET, zviz_home)
    runs = client.list_pipeline_runs().items
    assert [r.pipeline.name for r in runs] == ["after_reset"]
    assert runs[0].project_id == client.active_project.id
    # this process's own writes land in the new store's project too
    early()
    assert [r.pipeline.name for r in client.list_pipeline_runs().items] == [
        "early",
        "after_reset",
    ]


@pytest.mark.duckdb_only
def test_a_store_made_on_the_old_ones_inode_is_seen(
    client: Client, zviz_home: Path, tmp_path: Path
) -> None:
    """The file of a store made where one was deleted often gets the deleted file's inode (CI
    saw it); the store's id tells them apart. Here the new store is written into the old file,
    which keeps its inode for sure."""

    early()
    assert client.list_pipeline_runs().total == 1
    other = tmp_path / "other"
    run_python(AFTER_RESET, other)
    Database.release_all()
    inode = os.stat(zviz_home / DB_FILE).st_ino
    assert not (other / f"{DB_FILE}.wal").exists()
    (zviz_home / f"{DB_FILE}.wal").unlink(missing_ok=True)
    for name in (DB_FILE, STORE_ID_FILE):
        with open(zviz_home / name, "r+b") as fh:
            fh.truncate(0)
            fh.write((other / name).read_bytes())
    assert os.stat(zviz_home / DB_FILE).st_ino == inode
    assert [r.pipeline.name for r in client.list_pipeline_runs().items] == ["after_reset"]
    early()
    assert [r.pipeline.name for r in client.list_pipeline_runs().items] == [
        "early",
        "after_reset",
    ]


def test_a_write_after_a_re_creation_lands_in_the_new_store(
    client: Client, zviz_home: Path, engine: str
) -> None:
    """Without any read in between, the first write after a re-creation goes to the new
    store's project, not to the memoised one of the old store."""
    client.create_model("before")
    _wipe(engine, zviz_home)
    run_python("from zviz_core import Client; Client().create_model('other')", zviz_home)
    client.create_model("after")
    assert {m.name for m in client.list_models().items} == {"other", "after"}


def test_deleting_a_running_pipeline_fails_it_and_leaves_nothing(client: Client) -> None:
    state: dict = {}

    @step
    def delete_my_run(text: MarkdownString) -> MarkdownString:
        run = client.list_pipeline_runs().items[0]
        state["run"] = run.id
        client.delete_pipeline_run(run.id)
        return MarkdownString(text + " and two")

    @step
    def third(text: MarkdownString) -> MarkdownString:
        return MarkdownString(text + " and three")

    @pipeline
    def doomed() -> None:
        third(delete_my_run(first()))

    with pytest.raises(RunGoneError) as gone:
        doomed()
    assert "deleted while it ran" in str(gone.value)
    assert client.list_pipeline_runs().total == 0
    assert client.list_artifact_versions().total == 0
    folder = Path(client.artifact_store.root)
    assert not folder.exists() or list(folder.iterdir()) == []


def test_a_stale_edit_is_refused_and_reverts_nothing(client: Client) -> None:
    @pipeline
    def pinned() -> None:
        first()

    run = pinned()
    viz = run.steps["first"].output.visualizations[0]
    model = client.create_model("m")
    opened = client.create_curated_visualization(viz.id, model.id, "model", display_order=10)
    other = client.update_curated_visualization(opened.id, layout_size="half_width")
    with pytest.raises(ConflictError) as stale:
        client.update_curated_visualization(
            opened.id, display_name="mine", expected_updated=opened.updated
        )
    assert "changed by someone else" in str(stale.value)
    now = client.get_curated_visualization(opened.id)
    assert (now.display_name, now.layout_size.value) == (None, "half_width")
    saved = client.update_curated_visualization(
        opened.id, display_name="mine", expected_updated=other.updated
    )
    assert (saved.display_name, saved.layout_size.value) == ("mine", "half_width")
    with pytest.raises(ConflictError):
        client.update_curated_visualization(
            opened.id, display_name="late", expected_updated=other.updated
        )


def test_run_totals_stay_true_through_runs_and_deletes(client: Client) -> None:
    @step
    def one() -> int:
        return 1

    @pipeline
    def kept() -> None:
        one()

    @pipeline
    def dropped() -> None:
        one()

    runs = [kept(), kept(), dropped(), dropped(), dropped()]
    client.create_project("elsewhere")

    def consistent() -> int:
        page = client.list_pipeline_runs(size=100)
        assert page.total == len(page.items)
        return page.total

    assert consistent() == 5
    client.delete_pipeline_run(runs[0].id)
    assert consistent() == 4
    client.delete_snapshot(runs[2].snapshot_id)
    assert consistent() == 1
    client.delete_pipeline(runs[1].pipeline.id)
    assert consistent() == 0
    kept()
    assert consistent() == 1
