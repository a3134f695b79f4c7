"""`agentregistry`: the registry from a shell, for agents and their operators.

Every command takes --target, --key-file (or AGENTREGISTRY_KEY), --agent, --api-key and
--json; see clients/python/README.md for the reference. Commands that need the agent log
in with its key each time (two small calls): no session token is written to disk.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence

from agentregistry_client import cli_commands
from agentregistry_client.cli_output import Output
from agentregistry_client.client import DEFAULT_TARGET, TARGET_ENV
from agentregistry_client.errors import RegistryError
from agentregistry_client.keys import AGENT_ENV, InvalidKey

KEY_FILE_ENV = "AGENTREGISTRY_KEY_FILE"
API_KEY_ENV = "AGENTREGISTRY_API_KEY"


def _filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--capability", action="append", default=[], help="repeatable")
    parser.add_argument("--all-capabilities", action="store_true", help="all, not any of them")
    parser.add_argument("--type", action="append", default=[], dest="types", help="repeatable")
    parser.add_argument("--protocol", action="append", default=[], help="repeatable")
    parser.add_argument("--tag", action="append", default=[], help="repeatable; all must match")
    parser.add_argument("--status", action="append", default=[], help="stored status, repeatable")
    parser.add_argument("--min-trust", type=float, default=0.0)
    parser.add_argument("--verified", action="store_true")
    parser.add_argument("--limit", type=int, default=0, help="page size (server default 50)")
    parser.add_argument("--page-token", default="")


class _Parsers:
    """Subcommands that also accept --json after their name (`agentregistry get --json`)."""

    def __init__(self, commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
        self._commands = commands
        self._common = argparse.ArgumentParser(add_help=False)
        self._common.add_argument("--json", action="store_true", default=argparse.SUPPRESS)

    def add(self, name: str, help: str | None = None) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = self._commands.add_parser(
            name, parents=[self._common], help=help
        )
        return parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="agentregistry", description=__doc__.split("\n")[0])
    env = os.environ.get
    parser.add_argument("--target", default=env(TARGET_ENV) or DEFAULT_TARGET, help="host:port")
    parser.add_argument("--tls", action="store_true", help="TLS with the system's roots")
    parser.add_argument("--key-file", default=env(KEY_FILE_ENV) or "agent.key")
    parser.add_argument("--agent", default=env(AGENT_ENV), help="agents/… (default: the key's)")
    parser.add_argument("--api-key", default=env(API_KEY_ENV), help="act with an API key")
    parser.add_argument("--json", action="store_true", help="JSON output (one object per line)")
    commands = _Parsers(parser.add_subparsers(dest="command", required=True, metavar="COMMAND"))

    register = commands.add("register", help="register the key as a new agent")
    register.add_argument("display_name")
    register.add_argument("--type", default="service")
    register.add_argument("--description")
    register.add_argument("--endpoint")
    register.add_argument("--tag", action="append", dest="tags")
    register.add_argument("--protocol", action="append", dest="protocols")
    register.add_argument("--capability", action="append", default=[], dest="capabilities")

    commands.add("login", help="print a session token (for curl or other tools)")

    heartbeat = commands.add("heartbeat", help="hold presence, print pushed events")
    heartbeat.add_argument("--status", default="online")
    heartbeat.add_argument("--load", type=float, default=0.0)
    heartbeat.add_argument("--once", action="store_true", help="one unary beat, then exit")
    heartbeat.add_argument("--duration", type=float, help="seconds to stay (default: until ^C)")

    get = commands.add("get", help="an agent (default: yours)")
    get.add_argument("name", nargs="?")

    search = commands.add("search", help="full-text search with filters")
    search.add_argument("query", nargs="?", default="")
    _filters(search)
    find = commands.add("find", help="plain-language request matched to capabilities")
    find.add_argument("query")
    _filters(find)
    suggest = commands.add("suggest", help="typeahead by name prefix")
    suggest.add_argument("prefix")
    suggest.add_argument("--limit", type=int, default=0)

    attest = commands.add("attest", help="sign and submit a claim about an agent")
    attest.add_argument("subject")
    claim = attest.add_mutually_exclusive_group(required=True)
    claim.add_argument("--behaviour", type=int, metavar="0-100")
    claim.add_argument("--identity")
    claim.add_argument("--capability")
    attest.add_argument("--false", action="store_true", help="dispute the capability")
    attest.add_argument("--expires-in-days", type=float)
    revoke = commands.add("revoke", help="revoke one of your attestations")
    revoke.add_argument("name", help="attestations/…")
    verify = commands.add("verify", help="check an attestation's signature offline")
    verify.add_argument("name", help="attestations/…")

    watch = commands.add("watch", help="follow the change feed")
    watch.add_argument("--after", type=int, default=0, help="event id to resume after")
    watch.add_argument("--type", action="append", default=[], dest="types")
    watch.add_argument("--of", dest="of_agent", help="only events about this agent")
    watch.add_argument("--count", type=int, help="stop after this many events")

    keys = commands.add("keys", help="the key pair, and API keys")
    key_commands = _Parsers(
        keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    )
    generate = key_commands.add("generate", help="a new key pair in --key-file")
    generate.add_argument("--force", action="store_true", help="replace an existing file")
    key_commands.add("show", help="the public key and agent name")
    api = key_commands.add("api", help="API keys of the agent")
    api_commands = _Parsers(api.add_subparsers(dest="api_command", required=True, metavar="ACTION"))
    create_key = api_commands.add("create")
    create_key.add_argument("display_name")
    create_key.add_argument("--scope", action="append", dest="scopes", help="read, write, admin")
    create_key.add_argument("--plan", default="free")
    api_commands.add("list")
    delete_key = api_commands.add("delete")
    delete_key.add_argument("name", help="agents/…/apiKeys/…")

    webhooks = commands.add("webhooks", help="the agent's webhooks")
    hook_commands = _Parsers(
        webhooks.add_subparsers(dest="webhooks_command", required=True, metavar="ACTION")
    )
    create_hook = hook_commands.add("create")
    create_hook.add_argument("url")
    create_hook.add_argument("--event", action="append", default=[], dest="event_types")
    hook_commands.add("list")
    for action in ("delete", "pause", "enable", "deliveries"):
        hook_commands.add(action).add_argument("name", help="agents/…/webhooks/…")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    output = Output(json_mode=args.json)
    try:
        asyncio.run(cli_commands.run(args, output))
    except KeyboardInterrupt:
        return 130
    except RegistryError as error:
        output.error(error)
        return 1
    except (InvalidKey, FileNotFoundError, FileExistsError, ValueError) as error:
        output.fail(str(error))
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
