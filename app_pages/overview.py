"""The project overview (`/`): counts, the project dashboard and the latest runs."""

from zviz_core.ui import resources, session

resources.overview_page(session.get_client())
