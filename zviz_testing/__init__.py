"""Servers the tests and bench/ both start: a throwaway PostgreSQL (pg.py) and `streamlit run`
with the Chromium flags this machine needs (streamlit_server.py).

It lives beside tests/ and bench/, not in either, so that neither imports the other; it is not
in the wheel (pyproject.toml's packages.find includes zviz_core and app_pages only)."""
