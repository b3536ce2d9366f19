"""Small cross-cutting pieces: logging setup and time helpers."""
