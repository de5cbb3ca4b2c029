"""zviz's Streamlit entrypoint: page setup, navigation over app_pages/, first-start demo, dialogs."""

import streamlit as st

from zviz_core.ui import nav, notices, render, session

st.set_page_config(page_title="zviz", page_icon=":material/insights:", layout="wide")

# The login gate (streamlit-authenticator) goes here, before st.navigation: logged out, every
# URL shows the login form; logged in, it sets st.session_state["username"] for get_client().
#
# Page files live in app_pages/, not pages/: with a pages/ folder next to this file Streamlit
# 1.67 starts in its old automatic multipage mode and, until this script has run once in the
# process, serves a deep link such as /runs by running that page file alone, skipping this
# entrypoint (and so any login gate).
page = st.navigation(nav.pages())
nav.sync_url()
session.seed_demo_once()
with notices.contained(what="This page"):
    page.run()
render.show_expand_dialog(session.get_client())
