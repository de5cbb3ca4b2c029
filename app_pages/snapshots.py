"""Snapshots (`/snapshots`): the list; `?id=` opens one with its configuration and runs."""

from zviz_core.ui import resources, session

resources.snapshots_page(session.get_client())
