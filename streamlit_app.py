"""zviz's Streamlit entrypoint: page setup, navigation over app_pages/, first-start demo, dialogs."""

import streamlit as st

from zviz_core.ui import a11y, auth, nav, notices, render, session

st.set_page_config(page_title="zviz", page_icon=":material/insights:", layout="wide")

# The login gate builds st.navigation: logged out, every URL runs the login form (so a deep link
# opens after login) and the run stops there; logged in, the user's pages, with their name,
# roles and logout in the sidebar. Nothing slow may come before it: Streamlit forgets the
# requested page of a fresh session when the first run is slow to reach st.navigation.
#
# Page files live in app_pages/, not pages/: with a pages/ folder next to this file Streamlit
# 1.67 starts in its old automatic multipage mode and, until this script has run once in the
# process, serves a deep link such as /runs by running that page file alone, skipping this
# entrypoint (and so the login gate).
page = auth.navigation(nav.pages)
nav.sync_url(page)
session.seed_demo_once()
a11y.style()
if session.current_user():  # logged out, get_client() would stop the login form
    nav.explain_hidden(session.get_client().policy)
with notices.contained(what="This page"):
    page.run()
render.show_expand_dialog(session.get_client())
