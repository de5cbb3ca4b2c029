"""What the tests and bench/ both use: a throwaway PostgreSQL (pg.py), `streamlit run` with the
Chromium flags this machine needs (streamlit_server.py), the pipelines that make every kind of
artifact (factories.py) and the four-user team store of the browser tests (world.py).

It lives beside tests/ and bench/, not in either, so that neither imports the other; it is not
in the wheel (pyproject.toml's packages.find includes zviz_core and app_pages only)."""
