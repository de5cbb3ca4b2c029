"""Runs (`/runs`): the filterable list; `?id=` opens a run, `step`, `artifact`, `viz` go deeper."""

from zviz_core.ui import runs, session

runs.runs_page(session.get_client())
