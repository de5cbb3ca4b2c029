"""The per-process read cache never serves data older than another process's committed write, on
either engine (on PostgreSQL the change token is a row written in every write transaction)."""

from __future__ import annotations

import os
import subprocess
import sys

from zviz_core import Client


def _other_process(code: str) -> None:
    subprocess.run([sys.executable, "-c", code], check=True, env=os.environ.copy(), timeout=60)


def test_a_write_in_another_process_invalidates_this_process_cache(client: Client) -> None:
    assert client.list_models().total == 0
    assert client.list_models().total == 0  # now served from the cache
    hits = client._db.stats.cache_hits
    _other_process("from zviz_core import Client; Client().create_model('from-elsewhere')")
    assert [m.name for m in client.list_models().items] == ["from-elsewhere"]
    assert client._db.stats.cache_hits == hits


def test_write_through_is_dropped_when_another_process_writes(client: Client) -> None:
    from zviz_testing.factories import run_everything

    run = run_everything()
    viz = run.steps["card"].output.visualizations[0]
    tile = client.create_curated_visualization(viz.id, run.pipeline.id, "pipeline")
    hits = client._db.stats.cache_hits
    assert client.get_curated_visualization(tile.id) == tile
    assert client._db.stats.cache_hits == hits + 1  # the write's own result, remembered
    _other_process(
        "from zviz_core import Client; "
        f"Client().update_curated_visualization('{tile.id}', display_name='renamed')"
    )
    assert client.get_curated_visualization(tile.id).display_name == "renamed"
