"""Empty states that say what to do next."""

from __future__ import annotations

import streamlit as st

FIRST_PIPELINE = """from zviz_core import pipeline, step

@step
def greet() -> str: return "Hello, zviz!"

@pipeline
def hello(): greet()

hello()
"""


def no_runs(sees_everything: bool = True) -> None:
    """Explain how to make the first run, with a pipeline short enough to paste; to a user whose
    grants do not cover everything, say only that none of the runs are theirs to see (the store
    may hold runs they must not learn about)."""
    if not sees_everything:
        st.info(
            "No runs that you may see. An admin can grant you a pipeline or a project in the "
            "access rules.",
            icon=":material/lock:",
        )
        return
    st.info(
        "No runs yet. Save this as `hello.py` and run `python hello.py` in a shell whose "
        "`ZVIZ_HOME` points at this app's store; its run appears here.",
        icon=":material/rocket_launch:",
    )
    st.code(FIRST_PIPELINE, language="python")
    st.caption(
        "Or start the app on an empty store without `ZVIZ_DEMO=0` to get a demo project with "
        "runs, a model, a deployment and dashboards."
    )
