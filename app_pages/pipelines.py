"""Pipelines (`/pipelines`): the list; `?id=` opens one with its dashboard, runs and snapshots."""

from zviz_core.ui import resources, session

resources.pipelines_page(session.get_client())
