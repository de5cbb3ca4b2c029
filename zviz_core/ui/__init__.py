"""Streamlit screens' building blocks: the only part of zviz_core that imports streamlit."""

from importlib.util import find_spec

# The app's packages come with the `app` extra, not with `pip install zviz`: say so before the
# first module below fails with a bare ModuleNotFoundError. find_spec does not import them.
_missing = [m for m in ("streamlit", "streamlit_authenticator", "markdown_it") if not find_spec(m)]
if _missing:
    raise ModuleNotFoundError(
        f"The zviz app needs {', '.join(_missing)}, "
        f"which {'is' if len(_missing) == 1 else 'are'} not installed: "
        'pip install "zviz[app]".',
        name=_missing[0],
    )
