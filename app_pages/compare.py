"""Compare (`/compare?runs=<id>,<id>`): two to six runs side by side."""

from zviz_core.ui import compare, session

compare.compare_page(session.get_client())
