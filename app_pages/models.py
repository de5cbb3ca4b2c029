"""Models (`/models`): the list; `?id=` opens one model's dashboard."""

from zviz_core.ui import resources, session

resources.models_page(session.get_client())
