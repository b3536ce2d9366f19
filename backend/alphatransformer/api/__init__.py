"""The monitoring and control API (FastAPI)."""
