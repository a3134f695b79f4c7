"""Alembic environment and reviewed revisions."""
