"""Persistence: SQLAlchemy 2 async models, engine, repositories and Alembic migrations."""
