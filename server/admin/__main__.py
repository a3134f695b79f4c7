"""Operator bootstrap: `python -m server.admin create-operator-key [--name NAME]`
and `python -m server.admin revoke-operator-key KEY_ID`.

Writes an operator API key into DATABASE_URL's database (or the embedded default,
as `make run` uses) and prints the secret once; only its hash is stored. Beside a
running `make run` it attaches to the embedded services it started and leaves them
running; with none running it starts them for itself and stops them when done. Operator
keys are owned by no agent and carry the single scope `operator`; no RPC mints one.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.asyncio import Redis

from db.engine import create_engine, session_factory
from db.migrate import upgrade
from db.uow import UnitOfWorkFactory
from server.auth.api_keys import ApiKeyService
from server.backing import attach
from server.settings import Settings


@asynccontextmanager
async def _api_keys() -> AsyncIterator[ApiKeyService]:
    settings = Settings()
    backing = attach(
        settings.database_url, settings.redis_url, settings.data_dir, settings.database_read_url
    )
    if settings.migrate_on_start:
        upgrade(backing.database_url)
    engine = create_engine(backing.database_url, pool_size=1)
    redis = Redis.from_url(backing.redis_url)
    try:
        yield ApiKeyService(UnitOfWorkFactory(session_factory(engine)), redis)
    finally:
        await redis.aclose()
        await engine.dispose()
        backing.close()


async def create_operator_key(name: str) -> tuple[str, str]:
    async with _api_keys() as service:
        key, secret = await service.create_operator_key(name)
    return key.key_id, secret


async def revoke_operator_key(key_id: str) -> bool:
    async with _api_keys() as service:
        return await service.revoke_operator_key(key_id)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m server.admin")
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create-operator-key", help="mint an operator API key")
    create.add_argument("--name", default="operator", help="what the key is for")
    revoke = commands.add_parser("revoke-operator-key", help="revoke an operator API key")
    revoke.add_argument("key_id", help="the key's id (ak_...), as create-operator-key printed")
    args = parser.parse_args()
    if args.command == "create-operator-key":
        key_id, secret = asyncio.run(create_operator_key(args.name))
        print(f"operator key {key_id} (shown once, store it safely):")
        print(secret)
    elif not asyncio.run(revoke_operator_key(args.key_id)):
        raise SystemExit(f"no operator key {args.key_id}")
    else:
        print(f"revoked {args.key_id}")


if __name__ == "__main__":
    main()
