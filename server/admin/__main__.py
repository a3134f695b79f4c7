"""Operator bootstrap: `python -m server.admin create-operator-key [--name NAME]`.

Writes an operator API key into DATABASE_URL's database (or the embedded default,
as `make run` uses) and prints the secret once; only its hash is stored. Operator
keys are owned by no agent and carry the single scope `operator`; no RPC mints one.
"""

from __future__ import annotations

import argparse
import asyncio

from redis.asyncio import Redis

from db.engine import create_engine, session_factory
from db.migrate import upgrade
from db.uow import UnitOfWorkFactory
from server.auth.api_keys import ApiKeyService
from server.backing import resolve
from server.settings import Settings


async def create_operator_key(name: str) -> str:
    settings = Settings()
    backing = resolve(
        settings.database_url, settings.redis_url, settings.data_dir, settings.database_read_url
    )
    if settings.migrate_on_start:
        upgrade(backing.database_url)
    engine = create_engine(backing.database_url, pool_size=1)
    try:
        redis = Redis.from_url(backing.redis_url)
        service = ApiKeyService(UnitOfWorkFactory(session_factory(engine)), redis)
        key, secret = await service.create_operator_key(name)
        await redis.aclose()
        return f"{key.key_id} {secret}"
    finally:
        await engine.dispose()
        backing.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m server.admin")
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create-operator-key", help="mint an operator API key")
    create.add_argument("--name", default="operator", help="what the key is for")
    args = parser.parse_args()
    if args.command == "create-operator-key":
        key_id, secret = asyncio.run(create_operator_key(args.name)).split(" ")
        print(f"operator key {key_id} (shown once, store it safely):")
        print(secret)


if __name__ == "__main__":
    main()
