"""Streamlit screens' building blocks: the only part of zviz_core that imports streamlit."""
