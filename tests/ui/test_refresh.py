"""An open dashboard notices what another process changed: the polling decision, with real stores."""

from __future__ import annotations

import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.core.helpers import run_python
from tests.ui.conftest import no_exception, plain, visualizations
from zviz_core import Client
from zviz_core.ui.tiles import TOKEN_TTL_S, WATCH_KEY

REPO = Path(__file__).resolve().parents[2]
# A page that draws one model's dashboard, or (when "probe" is set) only asks whether it changed
# since it was drawn: what the dashboard's polling fragment asks on every tick. It registers the
# app's pages, so the tiles' links resolve as in the app.
PROBE_APP = """
import streamlit as st

from zviz_core import Client
from zviz_core.ui import nav, tiles

st.navigation(nav.pages(), position="hidden")
client = Client()
rid = st.session_state["rid"]
if st.session_state.get("probe"):
    st.session_state["changed"] = tiles.changed_since(client, "model", rid)
else:
    tiles.tile_grid(client, "model", rid)
"""


def _probe_app(folder: Path) -> AppTest:
    folder.mkdir()
    (folder / "app_pages").symlink_to(REPO / "app_pages")
    (folder / "probe_app.py").write_text(PROBE_APP)
    return AppTest.from_file(str(folder / "probe_app.py"), default_timeout=30)


def _probe(at: AppTest) -> bool:
    time.sleep(TOKEN_TTL_S + 0.1)  # the token is read at most once a TOKEN_TTL_S per process
    at.session_state["probe"] = True
    at.run()
    no_exception(at)
    return bool(at.session_state["changed"])


def _links(at: AppTest) -> list[str]:
    return [plain(str(link.proto.label)) for link in at.get("page_link")]


def test_a_run_completing_in_another_process_updates_an_open_dashboard(
    client: Client, run, zviz_home: Path, tmp_path: Path
) -> None:
    model = client.create_model("classifier")
    client.create_curated_visualization(
        visualizations(run)["report"].id, model.id, "model", follow="output"
    )
    at = _probe_app(tmp_path / "app")
    at.session_state["rid"] = str(model.id)
    at.run()
    no_exception(at)
    assert any(run.name in link for link in _links(at))

    assert not _probe(at), "nothing changed: the poll only read the change token"
    run_python("from zviz_core import Client; Client().create_model('unrelated')", zviz_home)
    assert not _probe(at), "a change elsewhere in the store leaves this dashboard as it is"
    child = run_python(
        "from zviz_testing.factories import run_everything; print(run_everything().name)", zviz_home
    )
    newest = child.stdout.strip().splitlines()[-1]
    assert _probe(at), "a newer run of the followed output changes what the dashboard shows"

    at.session_state["probe"] = False
    at.run()
    no_exception(at)
    assert any(newest in link for link in _links(at)), _links(at)
    assert not _probe(at), "drawn again: nothing new since"


def test_only_dashboards_with_a_following_tile_poll(open_page, client: Client, run) -> None:
    model = client.create_model("classifier")
    report = visualizations(run)["report"]
    client.create_curated_visualization(report.id, model.id, "model")
    at = open_page("models", id=model.id)
    no_exception(at)
    # Pinned tiles never change when runs complete.
    assert (
        WATCH_KEY not in at.session_state or f"model:{model.id}" not in at.session_state[WATCH_KEY]
    )
    client.create_curated_visualization(report.id, model.id, "model", follow="artifact")
    at.run()
    assert f"model:{model.id}" in at.session_state[WATCH_KEY]
