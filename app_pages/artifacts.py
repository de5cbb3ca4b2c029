"""Artifacts (`/artifacts`): artifact versions searchable by name; `?id=` opens one."""

from zviz_core.ui import resources, session

resources.artifacts_page(session.get_client())
