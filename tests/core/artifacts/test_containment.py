"""Nothing escapes its place: every file zviz writes, opens or deletes lies inside its artifact
version's own folder in the configured artifact store, whatever a materializer returns or a row
in the store says; names cannot smuggle paths."""

from __future__ import annotations

import http.server
import os
import threading
from pathlib import Path
from typing import Annotated, Any

import pytest

from zviz_core import Client, pipeline, step
from zviz_core.artifacts.store import ArtifactStore, is_inside
from zviz_core.enums import ExecutionStatus, VisualizationType
from zviz_core.errors import ArtifactLoadError, ArtifactPathError, InvalidInputError
from zviz_core.materializers import BaseMaterializer
from zviz_core.store import schema


class Note:
    def __init__(self, text: str) -> None:
        self.text = text


class _NoteBase(BaseMaterializer):
    """Saves a Note properly; subclasses return hostile visualization paths."""

    ASSOCIATED_TYPES = ()
    target: str = ""

    def save(self, data: Note) -> None:
        with self.artifact_store.open(self.path("note.txt"), "w") as fh:
            fh.write(data.text)

    def load(self, data_type: type) -> Note:
        with self.artifact_store.open(self.path("note.txt"), "r") as fh:
            return Note(fh.read())


def _run_with(materializer: type[BaseMaterializer]) -> Exception:
    @step(output_materializers=materializer)
    def make() -> Note:
        return Note("hello")

    @pipeline
    def hostile() -> None:
        make()

    with pytest.raises(ArtifactPathError) as caught:
        hostile()
    return caught.value


def _single_run(client: Client):
    runs = client.list_pipeline_runs().items
    assert len(runs) == 1
    return runs[0]


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    """A file on the app's host outside the store, standing in for auth.yaml."""
    path = tmp_path / "auth.yaml"
    path.write_text("cookie: {key: the-real-key}\n")
    return path


def _returning(target: str) -> type[BaseMaterializer]:
    class Returning(_NoteBase):
        def save_visualizations(self, data: Note) -> dict[str, VisualizationType]:
            return {target: VisualizationType.MARKDOWN}

    return Returning


def test_an_absolute_path_outside_fails_the_step_naming_materializer_and_path(
    client: Client, secret: Path
) -> None:
    error = _run_with(_returning(str(secret)))
    message = str(error)
    assert "Returning.save_visualizations" in message and str(secret) in message
    run = _single_run(client)
    assert run.status is ExecutionStatus.FAILED
    step_run = run.steps["make"]
    assert step_run.status is ExecutionStatus.FAILED and str(secret) in (step_run.error or "")
    # Nothing points at the file, and the half-written artifact folder is gone.
    assert client.list_artifact_versions().total == 0
    assert secret.read_text().startswith("cookie")


def test_a_url_is_refused_and_never_fetched(client: Client) -> None:
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"internal")

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/metadata"
        message = str(_run_with(_returning(url)))
        assert url in message
    finally:
        server.shutdown()
    assert hits == []


@pytest.mark.parametrize("relative", ["../../escape.md", "note.txt", "./x/../../y"])
def test_relative_and_dotted_paths_are_refused(client: Client, relative: str) -> None:
    assert relative in str(_run_with(_returning(relative)))


def test_a_symlink_inside_the_folder_pointing_outside_is_refused(
    client: Client, secret: Path
) -> None:
    class Linking(_NoteBase):
        def save_visualizations(self, data: Note) -> dict[str, VisualizationType]:
            link = self.path("report.md")
            os.symlink(secret, link)
            return {link: VisualizationType.MARKDOWN}

    assert "report.md" in str(_run_with(Linking))
    assert client.list_artifact_versions().total == 0


def test_writing_outside_through_the_artifact_store_fails_the_step(
    client: Client, tmp_path: Path
) -> None:
    victim = tmp_path / "victim.txt"

    class Escaping(_NoteBase):
        def save(self, data: Note) -> None:
            with self.artifact_store.open(str(victim), "w") as fh:
                fh.write("overwritten")

    message = str(_run_with(Escaping))
    assert "Escaping.save" in message and str(victim) in message
    assert not victim.exists()


def test_a_returned_folder_outside_is_never_deleted_with_the_run(
    client: Client, tmp_path: Path
) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("precious")
    _run_with(_returning(str(victim)))
    client.delete_pipeline_run(_single_run(client).id)
    assert (victim / "keep.txt").read_text() == "precious"


def test_artifact_folders_are_named_by_id_only(client: Client) -> None:
    @step
    def produce() -> Annotated[Note, "weird name"]:
        return Note("x")

    class NoteMaterializer(_NoteBase):
        ASSOCIATED_TYPES = (Note,)

    @pipeline
    def named_pipeline() -> None:
        produce()

    run = named_pipeline()
    av = run.steps["produce"].outputs["weird name"][0]
    assert Path(av.uri) == Path(client.artifact_store.root) / str(av.id)
    assert NoteMaterializer  # registered for Note while this test runs


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("a/b", "'/'"),
        ("a\\b", "'\\'"),
        ("..", "'..'"),
        ("up..", "'..'"),
        ("nul\x00", "NUL"),
        ("bell\x07", "U+0007"),
        ("tab\tname", "U+0009"),
        ("rtl\u202ename", "RIGHT-TO-LEFT OVERRIDE"),
    ],
)
def test_names_with_path_characters_are_refused_naming_the_character(
    client: Client, name: str, says: str
) -> None:
    def body() -> int:
        return 1

    with pytest.raises(InvalidInputError) as as_step:
        step(name=name)(body)
    assert says in str(as_step.value) and "Step name" in str(as_step.value)
    with pytest.raises(InvalidInputError) as as_pipeline:
        pipeline(name=name)(body)
    assert says in str(as_pipeline.value)

    def annotated() -> int:
        return 1

    annotated.__annotations__ = {"return": Annotated[int, name]}
    with pytest.raises(InvalidInputError) as as_output:
        step(annotated)
    assert says in str(as_output.value) and "Output name" in str(as_output.value)
    with pytest.raises(InvalidInputError):
        client.create_project(f"p{name}")


def test_a_run_name_from_the_configuration_cannot_hold_a_path(client: Client) -> None:
    @step
    def one() -> int:
        return 1

    @pipeline
    def plain() -> None:
        one()

    with pytest.raises(InvalidInputError) as caught:
        plain.with_options(run_name="../../etc/{date}")()
    assert "Run name" in str(caught.value) and "'/'" in str(caught.value)
    assert client.list_pipeline_runs().total == 0


# -- rows written by hand or by an older zviz ----------------------------------------------------


@step
def report() -> Annotated[str, "text"]:
    return "# fine"


@pipeline
def reporting() -> None:
    report()


def _forge(client: Client, sql: str, params: dict) -> None:
    client._db.write(lambda cur: cur.execute(sql, params))


def test_a_forged_visualization_row_is_checked_before_it_is_opened(
    client: Client, secret: Path
) -> None:
    run = reporting()
    av = run.steps["report"].outputs["text"][0]
    viz = av.visualizations[0]
    assert client.load_visualization(viz.id).value
    _forge(
        client,
        "UPDATE artifact_visualizations SET uri = $u WHERE id = $id",
        {
            "u": str(secret),
            "id": viz.id,
        },
    )
    forged = client.get_artifact_visualization(viz.id)
    with pytest.raises(ArtifactPathError) as caught:
        client.load_visualization(forged.id)
    assert isinstance(caught.value, ArtifactLoadError) and str(secret) in str(caught.value)
    with pytest.raises(ArtifactPathError):
        client.visualization_size(forged)
    # A path that climbs out of the folder with '..' is refused the same way.
    climbing = os.path.join(av.uri, "..", "..", "..", secret.name)
    _forge(
        client,
        "UPDATE artifact_visualizations SET uri = $u WHERE id = $id",
        {
            "u": climbing,
            "id": viz.id,
        },
    )
    with pytest.raises(ArtifactPathError):
        client.load_visualization(viz.id)


def test_a_tile_of_a_forged_visualization_cannot_open_it(client: Client, secret: Path) -> None:
    run = reporting()
    viz = run.steps["report"].outputs["text"][0].visualizations[0]
    model = client.create_model("m")
    tile = client.create_curated_visualization(viz.id, model.id, "model")
    _forge(
        client,
        "UPDATE curated_visualizations SET viz_uri = $u WHERE id = $id",
        {
            "u": str(secret),
            "id": tile.id,
        },
    )
    # A tile is read from `shown`, its columns' copy: forge that too.
    client._db.write(lambda cur: cur.execute(schema.REBUILD_TILE_SHOWN[cur.dialect]))
    shown = client.list_curated_visualizations("model", model.id)[0]
    assert shown.artifact_visualization.uri == str(secret)
    with pytest.raises(ArtifactPathError):
        client.load_visualization_content(shown.artifact_visualization)


def test_a_forged_artifact_folder_is_neither_read_nor_deleted(
    client: Client, tmp_path: Path
) -> None:
    run = reporting()
    keep = reporting()
    av = run.steps["report"].outputs["text"][0]
    kept = keep.steps["report"].outputs["text"][0]
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "data.json").write_text('"x"')
    for forged in (str(outside), client.artifact_store.root):
        _forge(
            client,
            "UPDATE artifact_versions SET uri = $u WHERE id = $id",
            {"u": forged, "id": av.id},
        )
        with pytest.raises(ArtifactPathError):
            client.get_artifact_version(av.id).load()
    # Inside the store, a row may be pointed at another version's folder by hand (reading only
    # what the store holds); deleting it must still never remove that other version's files.
    _forge(
        client, "UPDATE artifact_versions SET uri = $u WHERE id = $id", {"u": kept.uri, "id": av.id}
    )
    # The row now points at another version's folder: deleting removes the row, not the files.
    client.delete_pipeline_run(run.id)
    assert (outside / "data.json").exists()
    assert Path(kept.uri).is_dir() and kept.load() == "# fine"
    assert Path(client.artifact_store.root).is_dir()


def test_visualizations_of_an_own_folder_are_deleted_with_it(client: Client) -> None:
    run = reporting()
    av = run.steps["report"].outputs["text"][0]
    assert Path(av.uri).is_dir()
    client.delete_pipeline_run(run.id)
    assert not Path(av.uri).exists()


def test_containment_across_schemes_and_buckets() -> None:
    assert is_inside("s3://b/root/1/x.csv", "s3://b/root/1")
    assert not is_inside("s3://b/root/1/../2/x.csv", "s3://b/root/1")
    assert not is_inside("s3://other/root/1/x.csv", "s3://b/root/1")
    assert not is_inside("gs://b/root/1/x.csv", "s3://b/root/1")
    assert not is_inside("s3://b/root/10/x.csv", "s3://b/root/1")
    assert not is_inside("/b/root/1/x.csv", "s3://b/root/1")
    assert not is_inside("s3://b/root/1", "s3://b/root/1", strictly=True)
    assert not is_inside("s3://b/root/1/x?versionId=2", "s3://b/root/1")
    store = ArtifactStore("s3://b/root", storage_options={})
    with pytest.raises(ArtifactPathError):
        store.scoped("s3://b/elsewhere/1")
