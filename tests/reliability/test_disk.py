"""A store on a full or read-only disk: a clear error, nothing corrupted, reads keep working.

Real filesystems: a small tmpfs mounted for the test (CI runs as root, which may mount)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from zviz_core import Client
from zviz_core.errors import StoreError
from zviz_core.store.db import Database
from zviz_testing.factories import run_everything


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 16 MB tmpfs; skipped (with the reason) where this user may not mount filesystems."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip()}); needs root")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _use(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZVIZ_HOME", str(home))
    Database._forget_all()


def test_full_disk_gives_a_clear_error_and_loses_nothing(
    small_disk: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = small_disk / "store"
    _use(home, monkeypatch)
    client = Client()
    client.create_model("before")
    filler = small_disk / "filler"
    with open(filler, "wb") as fh:
        try:
            while True:
                fh.write(b"\0" * 65536)
        except OSError:
            pass
    with pytest.raises((StoreError, OSError)) as err:
        for i in range(50):
            Client().create_model(f"m{i}" * 20)
        run_everything()
    message = str(err.value)
    assert "full" in message.lower() or "space" in message.lower()
    filler.unlink()
    _use(home, monkeypatch)
    after = Client()
    assert "before" in {m.name for m in after.list_models(size=100).items}
    after.create_model("after")
    assert {"before", "after"} <= {m.name for m in after.list_models(size=100).items}


def test_read_only_disk_reads_but_refuses_writes(
    small_disk: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = small_disk / "store"
    _use(home, monkeypatch)
    run = run_everything()
    Database._forget_all()  # let go of open files, or the kernel refuses the remount
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    _use(home, monkeypatch)
    client = Client()
    assert client.get_pipeline_run(run.id).status == run.status
    assert client.load_visualization(run.steps["report"].output.visualizations[0].id).value
    with pytest.raises(StoreError, match=r"not writable|Read-only"):
        client.create_model("nope")
