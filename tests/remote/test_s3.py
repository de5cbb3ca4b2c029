"""Artifacts in S3-compatible object storage: a pipeline writes to a bucket, every visualization
type reads back, and an unreachable store fails fast with a fix in the message."""

from __future__ import annotations

import time

import pandas as pd
import pytest

from zviz_core import Client
from zviz_core.enums import VisualizationType
from zviz_core.errors import ArtifactLoadError, ArtifactStoreUnreachableError
from zviz_testing.factories import run_everything


def test_pipeline_writes_to_the_bucket_and_everything_reads_back(s3_store: str) -> None:
    run = run_everything()
    client = Client()
    seen = set()
    for step in run.steps.values():
        for av in [step.output]:
            assert av.uri.startswith(s3_store)
            for viz in av.visualizations:
                assert viz.uri.startswith("s3://")
                loaded = client.load_visualization(viz.id)
                seen.add(loaded.type)
                if loaded.type is VisualizationType.IMAGE:
                    assert loaded.value[:8] == b"\x89PNG\r\n\x1a\n"
                else:
                    assert isinstance(loaded.value, str) and loaded.value
    assert seen == set(VisualizationType)
    frame = run.steps["frame"].output.load()
    assert isinstance(frame, pd.DataFrame) and frame.shape == (100, 4)
    assert run.steps["picture"].output.load().size == (64, 48)


def test_deleting_a_run_removes_its_objects(s3_store: str) -> None:
    import fsspec

    run = run_everything()
    uri = run.steps["frame"].output.uri
    fs, path = fsspec.core.url_to_fs(uri)
    assert fs.exists(path)
    Client().delete_pipeline_run(run.id)
    fs.invalidate_cache()
    assert not fs.exists(path)


def test_missing_object_is_a_load_error(s3_store: str) -> None:
    import fsspec

    run = run_everything()
    viz = run.steps["report"].output.visualizations[0]
    fs, path = fsspec.core.url_to_fs(viz.uri)
    fs.rm(path)
    with pytest.raises(ArtifactLoadError, match="missing"):
        Client().load_visualization(viz.id)


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"AWS_ENDPOINT_URL": "http://127.0.0.1:9"}, "did not answer"),
        ({"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None}, "credentials"),
    ],
)
def test_unreachable_store_fails_fast_with_a_fix(
    s3_store: str, monkeypatch: pytest.MonkeyPatch, change: dict, needle: str
) -> None:
    run = run_everything()
    viz = run.steps["report"].output.visualizations[0]
    for key, value in change.items():
        if value is None:
            monkeypatch.delenv(key, raising=False)
        else:
            monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    import s3fs

    s3fs.S3FileSystem.clear_instance_cache()  # a new process would start without its credentials
    started = time.monotonic()
    with pytest.raises(ArtifactStoreUnreachableError) as err:
        Client().load_visualization(viz.id)
    assert time.monotonic() - started < 30
    assert needle in str(err.value)
    assert "README" in str(err.value)


def test_missing_bucket_says_so(s3_store: str, monkeypatch: pytest.MonkeyPatch) -> None:
    run = run_everything()
    viz = run.steps["report"].output.visualizations[0]
    bucket = viz.uri.split("/")[2]
    import boto3

    s3 = boto3.resource("s3")
    s3.Bucket(bucket).objects.all().delete()
    s3.Bucket(bucket).delete()
    with pytest.raises(ArtifactStoreUnreachableError, match="bucket"):
        Client().load_visualization(viz.id)
