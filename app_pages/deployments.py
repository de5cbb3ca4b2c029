"""Deployments (`/deployments`): the list; `?id=` opens one with its dashboard and snapshot."""

from zviz_core.ui import resources, session

resources.deployments_page(session.get_client())
