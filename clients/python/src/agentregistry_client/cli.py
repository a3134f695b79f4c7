"""`agentregistry`: the registry from a shell, for agents and their operators.

Only the standard library is imported until a command runs (`--help`, `--version` and
`completion` never load grpc). See clients/python/README.md for the reference.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from agentregistry_client import cli_config

OUTPUTS = ("text", "table", "json", "yaml")  # table: another name for text
ADMIN_ACTIONS = ("verify", "unverify", "suspend", "take-down", "reinstate")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("agentregistry-client")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


def _filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--capability", action="append", default=[], help="repeatable")
    parser.add_argument("--all-capabilities", action="store_true", help="all, not any of them")
    parser.add_argument("--type", action="append", default=[], dest="types", help="repeatable")
    parser.add_argument("--protocol", action="append", default=[], help="repeatable")
    parser.add_argument("--tag", action="append", default=[], help="repeatable; all must match")
    parser.add_argument("--status", action="append", default=[], help="stored status, repeatable")
    parser.add_argument("--min-trust", type=float, default=0.0)
    parser.add_argument("--verified", action="store_true")
    _paging(parser)


def _paging(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--limit", type=int, default=0, help="page size (server default)")
    parser.add_argument("--page-token", default="")


class _Parsers:
    """Subcommands that also take -o/--json after their name (`agentregistry get -o json`)."""

    def __init__(self, commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
        self._commands = commands
        self._common = argparse.ArgumentParser(add_help=False)
        _output_options(self._common, argparse.SUPPRESS)

    def add(self, name: str, help: str | None = None) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = self._commands.add_parser(
            name, parents=[self._common], help=help, description=help
        )
        return parser

    def group(self, name: str, help: str, dest: str) -> _Parsers:
        return _Parsers(self.add(name, help).add_subparsers(dest=dest, required=True))


def _output_options(parser: argparse.ArgumentParser, default: object) -> None:
    parser.add_argument(
        "-o", "--output", choices=OUTPUTS, default=default, help="text (table), json, yaml"
    )
    parser.add_argument(
        "--json",
        dest="output",
        action="store_const",
        const="json",
        default=default,
        help="same as -o json",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="agentregistry", description=__doc__.split("\n")[0])
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    parser.add_argument(
        "--context", help=f"a named context of the config file ({cli_config.CONTEXT_ENV})"
    )
    parser.add_argument("--target", help=f"host:port ({cli_config.TARGET_ENV})")
    parser.add_argument("--tls", action="store_true", default=None, help="TLS, system roots")
    parser.add_argument("--key-file", help=f"the agent's key ({cli_config.KEY_FILE_ENV})")
    parser.add_argument("--agent", help="agents/… (default: the key's)")
    parser.add_argument("--api-key", help=f"act with an API key ({cli_config.API_KEY_ENV})")
    parser.add_argument(
        "--no-session-cache",
        action="store_true",
        help="log in for this command only; keep no session between commands",
    )
    _output_options(parser, None)
    commands = _Parsers(parser.add_subparsers(dest="command", required=True, metavar="COMMAND"))

    register = commands.add("register", help="register the key as a new agent")
    register.add_argument("display_name")
    register.add_argument("--type", default="service")
    _profile(register)
    register.add_argument("--capability", action="append", default=[], dest="capabilities")

    commands.add("login", help="print a session token (for curl or other tools)")
    commands.add("logout", help="end the cached session on the server and forget it")

    update = commands.add("update", help="change your agent's profile (only what is given)")
    update.add_argument("--display-name")
    update.add_argument("--type")
    _profile(update)
    delete = commands.add("delete", help="delete your agent (its sessions and API keys end)")
    delete.add_argument("--yes", action="store_true", help="required: there is no undo")
    rotate = commands.add("rotate-key", help="a new key pair for your agent, replacing the old")
    rotate.add_argument("--keep-old", help="also write the old key to this file")

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
    reputation = commands.add("reputation", help="an agent's trust score explained")
    reputation.add_argument("name", nargs="?")
    leaderboard = commands.add("leaderboard", help="agents by trust score")
    leaderboard.add_argument("--capability", help="only agents offering it")
    _paging(leaderboard)

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

    watch = commands.add("watch", help="follow the change feed (keepalives not shown)")
    start = watch.add_mutually_exclusive_group()
    start.add_argument("--after", type=int, default=0, help="event id to resume after")
    start.add_argument("--from-oldest", action="store_true", help="replay the retained feed")
    watch.add_argument("--type", action="append", default=[], dest="types")
    watch.add_argument("--of", dest="of_agent", help="only events about this agent")
    watch.add_argument("--count", type=int, help="stop after this many events")

    keys = commands.group("keys", "the key pair, and API keys", "keys_command")
    generate = keys.add("generate", help="a new key pair in --key-file")
    generate.add_argument("--force", action="store_true", help="replace an existing file")
    keys.add("show", help="the public key and agent name")
    api = keys.group("api", "the agent's API keys (operators set plans: admin set-plan)", "api")
    create_key = api.add("create", help="a new API key; its secret is shown once")
    create_key.add_argument("display_name")
    create_key.add_argument("--scope", action="append", dest="scopes", help="read, write, admin")
    api.add("list", help="the agent's API keys")
    api.add("delete", help="revoke an API key at once").add_argument("name")

    webhooks = commands.group("webhooks", "the agent's webhooks", "webhooks_command")
    create_hook = webhooks.add("create", help="a webhook; its secret is shown once")
    create_hook.add_argument("url")
    create_hook.add_argument("--event", action="append", default=[], dest="event_types")
    webhooks.add("list", help="the agent's webhooks")
    for action in ("delete", "pause", "enable", "deliveries", "rotate-secret"):
        webhooks.add(action, help=f"{action} a webhook").add_argument("name")

    domains = commands.group("domains", "prove your agent speaks for a domain", "domains_command")
    domains.add("claim", help="step 1: name the domain").add_argument("domain")
    domains.add("verify", help="step 2: the registry fetches the proof")

    cards = commands.group("cards", "A2A agent cards", "cards_command")
    cards.add("get", help="an agent as an A2A card (JSON)").add_argument("name", nargs="?")
    check = cards.add("verify", help="check a card file's signatures against an agent's key")
    check.add_argument("file", help="the card (JSON); - for stdin")
    check.add_argument("--of", dest="of_agent", help="the agent (default: yours)")

    admin = commands.group(
        "admin", "operator calls (with an operator key as --api-key)", "admin_command"
    )
    for action in ADMIN_ACTIONS:
        moderated = admin.add(action, help=f"{action} an agent")
        moderated.add_argument("name")
        moderated.add_argument("--reason", required=True)
    plan = admin.add("set-plan", help="an API key's plan (rate-limit tier)")
    plan.add_argument("name", help="agents/…/apiKeys/…")
    plan.add_argument("plan", choices=("free", "pro", "enterprise"))
    plan.add_argument("--reason", required=True)

    context = commands.group("context", f"named contexts in {cli_config.path()}", "ctx_command")
    context.add("list", help="the contexts; * marks the current one")
    context.add("use", help="make a context the current one").add_argument("name")
    save = context.add("set", help="create or change a context")
    save.add_argument("name")
    save.add_argument("--set-target", dest="ctx_target")
    save.add_argument("--set-key-file", dest="ctx_key_file")
    save.add_argument("--set-tls", dest="ctx_tls", choices=("true", "false"))
    save.add_argument("--set-api-key-env", dest="ctx_api_key_env", help="variable holding it")
    context.add("delete", help="remove a context").add_argument("name")

    operator_key = commands.group(
        "operator-key",
        "mint or revoke operator keys (where the registry and its DATABASE_URL are)",
        "operator_key_command",
    )
    operator_key.add("create", help="print a new operator key once").add_argument(
        "--name", default="operator", help="what the key is for"
    )
    operator_key.add("revoke", help="revoke an operator key at once").add_argument(
        "key_id", help="ak_…, as create printed"
    )

    completion = commands.add("completion", help="shell completion: eval in your shell's rc")
    completion.add_argument("shell", choices=("bash", "zsh"))
    return parser


def _profile(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--description")
    parser.add_argument("--endpoint")
    parser.add_argument("--tag", action="append", dest="tags", help="repeatable")
    parser.add_argument("--protocol", action="append", dest="protocols", help="repeatable")


def _operator_key(args: argparse.Namespace) -> int:
    """No RPC mints operator keys: they are written straight to the registry's database, by
    `python -m server.admin` of the registry installed beside this CLI."""
    import importlib.util
    import subprocess

    if importlib.util.find_spec("server.admin") is None:
        print(
            "error: operator keys are made where the registry is installed, with access to "
            "its database: python -m server.admin create-operator-key --name NAME",
            file=sys.stderr,
        )
        return 2
    if args.operator_key_command == "create":
        command = ["create-operator-key", "--name", args.name]
    else:
        command = ["revoke-operator-key", args.key_id]
    return subprocess.call([sys.executable, "-m", "server.admin", *command])


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "completion":
        from agentregistry_client.cli_completion import script

        print(script(parser, args.shell))
        return 0
    if args.command == "operator-key":
        return _operator_key(args)
    try:
        cli_config.resolve(args)
    except cli_config.ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.command == "context":
        return cli_config.run(args)
    from agentregistry_client.cli_commands import execute

    return execute(args)


if __name__ == "__main__":
    sys.exit(main())
