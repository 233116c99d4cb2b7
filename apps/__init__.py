"""User-facing front ends: the `editmind` CLI and the Streamlit app."""
