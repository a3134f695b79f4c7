"""Alembic environment; runs synchronously over psycopg 3.

The URL comes from `config.attributes["url"]` (set by db.migrate) or DATABASE_URL,
so no alembic.ini is needed. Nothing is excluded from autogenerate: Alembic 1.20
compares expression, DESC and partial indexes on Postgres, so `alembic check`
covers every index, including those 0001 writes as raw SQL.
"""

from __future__ import annotations

import os
from typing import Any

from alembic import context
from sqlalchemy import create_engine, pool

import db.models  # noqa: F401  (registers every table on the metadata)
from db.base import Base
from db.engine import sqlalchemy_url


def _url() -> str:
    config = context.config
    url = config.attributes.get("url") or os.environ.get("DATABASE_URL")
    if not url:
        raise RuntimeError("no database URL: pass one to db.migrate or set DATABASE_URL")
    return sqlalchemy_url(str(url))


def run_migrations() -> None:
    connectable = context.config.attributes.get("connection")
    if connectable is not None:
        _run(connectable)
        return
    engine = create_engine(_url(), poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            _run(connection)
    finally:
        engine.dispose()


def _run(connection: Any) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        compare_type=True,
        compare_server_default=True,
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("offline (--sql) migrations are not supported")
run_migrations()
