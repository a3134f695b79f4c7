"""The CLI's commands: each one parsed argument namespace in, one or more outputs out."""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import grpc

from agentregistry_client import cli_sessions
from agentregistry_client._proto import agent_card_service_pb2, resources_pb2
from agentregistry_client.cli_output import (
    Output,
    agent_line,
    attestation_line,
    reputation_lines,
)
from agentregistry_client.client import RegistryClient
from agentregistry_client.convert import agent_filter
from agentregistry_client.errors import RegistryError
from agentregistry_client.keys import AgentKey, InvalidKey
from agentregistry_client.signing import Claim, verify_attestation


def execute(args: argparse.Namespace) -> int:
    """Run the command; the exit code: 0 done, 1 the registry refused, 2 bad usage."""
    output = Output(args.output)
    try:
        return asyncio.run(run(args, output))
    except KeyboardInterrupt:
        return 130
    except RegistryError as error:
        output.error(error)
        return 1
    except (InvalidKey, FileNotFoundError, FileExistsError, ValueError, ImportError) as error:
        output.fail(str(error))
        return 2


def _key(args: argparse.Namespace) -> AgentKey | None:
    """AGENTREGISTRY_KEY, else --key-file when it exists."""
    from_env = AgentKey.from_env()
    if from_env is not None:
        return from_env
    path = Path(args.key_file)
    return AgentKey.load(path) if path.exists() else None


def _client(args: argparse.Namespace, key: AgentKey | None) -> RegistryClient:
    tls = grpc.ssl_channel_credentials() if args.tls else None
    return RegistryClient(args.target, key=key, agent=args.agent, api_key=args.api_key, tls=tls)


def _say(message: str) -> None:
    """Progress for people, on stderr so stdout stays parseable."""
    print(message, file=sys.stderr, flush=True)


async def run(args: argparse.Namespace, output: Output) -> int:
    if args.command == "keys" and args.keys_command != "api":
        return _keys(args, output)
    if args.command == "register":
        new = _key(args) or AgentKey.generate()
        if new.agent is not None:
            raise FileExistsError(f"this key is already registered as {new.agent}")
        if new.path is None and AgentKey.from_env() is None:
            new.save(args.key_file)
            _say(f"new key pair in {args.key_file}")
        async with _client(args, new) as client:
            return await _register(client, args, output)
    key = _key(args)
    caching = key is not None and key.agent is not None and args.api_key is None
    caching = caching and cli_sessions.enabled(args.no_session_cache)
    async with _client(args, key) as client:
        if caching and key is not None:
            cached = cli_sessions.load(args.target, key)
            if cached is not None:
                client.credentials.adopt(*cached)
        try:
            return await _call(client, args, output)
        finally:
            session = client.credentials.session
            ended = args.command in ("logout", "rotate-key")
            if caching and key is not None and session is not None and not ended:
                cli_sessions.store(args.target, key, session)


def _keys(args: argparse.Namespace, output: Output) -> int:
    if args.keys_command == "generate":
        if Path(args.key_file).exists() and not args.force:
            raise FileExistsError(f"{args.key_file} exists; --force replaces it")
        key = AgentKey.generate()
        key.save(args.key_file)
    else:
        shown = _key(args)
        if shown is None:
            raise FileNotFoundError(f"no key: {args.key_file} does not exist")
        key = shown
    public = base64.b64encode(key.public_key).decode()
    document = {"publicKey": public, "agent": key.agent, "keyFile": str(key.path or "")}
    output.emit(document, f"{public}  {key.agent or '(not registered)'}  {key.path or 'env'}")
    return 0


def _profile(args: argparse.Namespace) -> dict[str, Any]:
    fields = {
        "description": args.description,
        "endpoint_uri": args.endpoint,
        "tags": args.tags,
        "protocols": args.protocols,
    }
    return {name: value for name, value in fields.items() if value is not None}


async def _register(client: RegistryClient, args: argparse.Namespace, output: Output) -> int:
    agent = await client.register(
        args.display_name, args.type, capabilities=args.capabilities, **_profile(args)
    )
    output.agent(agent)
    if client.key is not None and client.key.path is None:
        _say(f"the key is not in a file: set AGENTREGISTRY_AGENT={agent.name} from now on")
    return 0


async def _call(client: RegistryClient, args: argparse.Namespace, output: Output) -> int:
    command = args.command
    if command == "login":
        session = await client.login()
        document = {
            "token": session.token,
            "agent": session.agent,
            "expireTime": session.expire_time.isoformat(),
        }
        output.emit(document, session.token)
    elif command == "logout":
        await _logout(client, args, output)
    elif command == "update":
        fields = _profile(args)
        if args.display_name is not None:
            fields["display_name"] = args.display_name
        if args.type is not None:
            fields["type"] = args.type
        if not fields:
            raise ValueError("nothing to change: give --display-name, --description, --tag …")
        output.agent(await client.update_agent(**fields))
    elif command == "delete":
        if not args.yes:
            raise ValueError(f"this deletes {client.agent} for good: add --yes")
        await client.delete_agent()
        output.emit({"deleted": client.agent}, f"deleted {client.agent}")
    elif command == "rotate-key":
        await _rotate(client, args, output)
    elif command == "heartbeat":
        await _heartbeat(client, args, output)
    elif command == "get":
        output.agent(await client.get_agent(args.name))
    elif command in ("search", "find"):
        await _search(client, args, output)
    elif command == "suggest":
        hints = await client.suggest(args.prefix, args.limit)
        lines = [f"{s.agent}  {s.display_name}" for s in hints.suggestions]
        output.lines(hints, lines, "no suggestions")
    elif command == "reputation":
        reputation = await client.reputation(args.name)
        output.message(reputation, "\n".join(reputation_lines(reputation)))
    elif command == "leaderboard":
        board = await client.leaderboard(args.capability, args.limit, args.page_token)
        lines = [f"{r.rank:>4}  {agent_line(r.agent)}" for r in board.agents]
        output.lines(board, lines, "no ranked agents")
    elif command in ("attest", "revoke"):
        if command == "attest":
            made = await client.attest(args.subject, _claim(args), valid_for=_days(args))
        else:
            made = await client.revoke(args.name)
        output.message(made, attestation_line(made))
    elif command == "verify":
        return await _verify(client, args, output)
    elif command == "watch":
        await _watch(client, args, output)
    elif command == "keys":
        await _api_keys(client, args, output)
    elif command == "webhooks":
        await _webhooks(client, args, output)
    elif command == "domains":
        if args.domains_command == "claim":
            agent = await client.claim_domain(args.domain)
            _say(
                f"now publish your public key at https://{args.domain}/.well-known/agentregistry.json"
            )
        else:
            agent = await client.verify_domain()
        output.message(agent, f"{agent_line(agent)}  domain {agent.domain or '-'}")
    elif command == "cards":
        await _cards(client, args, output)
    elif command == "admin":
        await _admin(client, args, output)
    return 0


async def _logout(client: RegistryClient, args: argparse.Namespace, output: Output) -> None:
    """End the cached session (if any) on the server and forget it."""
    key = client.key
    had = client.credentials.session is not None
    await client.logout()
    if key is not None:
        cli_sessions.drop(args.target, key)
    output.emit({"loggedOut": had}, "session ended" if had else "no session was cached")


async def _rotate(client: RegistryClient, args: argparse.Namespace, output: Output) -> None:
    """Write the new key beside the old first, so a rotation the registry accepted is
    never lost to a failed write; then move it into place."""
    old = client.key
    if old is None or old.path is None:
        raise FileNotFoundError("rotate-key needs the key in a file (--key-file)")
    key_file = old.path
    new = AgentKey.generate()
    new.agent = client.agent
    pending = new.save(Path(f"{key_file}.new"))
    agent = await client.rotate_key(new)
    cli_sessions.drop(args.target, old)
    if args.keep_old:
        old.save(args.keep_old)
    pending.replace(key_file)
    _say(f"{key_file} holds the new key; the agent's sessions ended, its API keys stay")
    output.agent(agent)


async def _search(client: RegistryClient, args: argparse.Namespace, output: Output) -> None:
    filters = agent_filter(
        capabilities=args.capability,
        match_all=args.all_capabilities,
        types=args.types,
        protocols=args.protocol,
        tags=args.tag,
        statuses=args.status,
        min_trust_score=args.min_trust,
        verified_only=args.verified,
    )
    if args.command == "search":
        found = await client.search(args.query, args.limit, args.page_token, filter=filters)
        output.results(found, found.results)
        return
    matched = await client.find(args.query, args.limit, args.page_token, filter=filters)
    if not output.structured and matched.matched_capabilities:
        _say("understood: " + ", ".join(m.capability for m in matched.matched_capabilities))
    output.results(matched, matched.results)


def _claim(args: argparse.Namespace) -> Claim:
    if args.behaviour is not None:
        return Claim.for_behaviour(args.behaviour)
    if args.identity is not None:
        return Claim.for_identity(args.identity)
    return Claim.for_capability(args.capability, not args.false)


def _days(args: argparse.Namespace) -> timedelta | None:
    return timedelta(days=args.expires_in_days) if args.expires_in_days else None


async def _heartbeat(client: RegistryClient, args: argparse.Namespace, output: Output) -> None:
    if args.once:
        ack = await client.send_heartbeat(args.status, args.load)
        status = resources_pb2.AgentStatus.Name(ack.status).removeprefix("AGENT_STATUS_")
        interval, ttl = ack.interval.ToTimedelta(), ack.ttl.ToTimedelta()
        text = (
            f"{client.agent} is {status.lower()}; beat again within {ttl.total_seconds():g} s "
            f"(every {interval.total_seconds():g} s)"
        )
        output.message(ack, text)
        return
    loop = asyncio.get_running_loop()
    deadline = None if args.duration is None else loop.time() + args.duration
    async with client.presence(status=args.status, load=args.load) as presence:
        _say(f"{client.agent} is {args.status}, beating every {presence.interval_s:g} s")
        events = presence.events()
        while deadline is None or loop.time() < deadline:
            remaining = None if deadline is None else deadline - loop.time()
            try:
                output.event(await asyncio.wait_for(anext(events), remaining))
            except (asyncio.TimeoutError, StopAsyncIteration):
                break


async def _verify(client: RegistryClient, args: argparse.Namespace, output: Output) -> int:
    attestation = await client.get_attestation(args.name)
    attester = await client.get_agent(attestation.attester)
    valid = verify_attestation(attestation, attester.public_key)
    document = {"name": attestation.name, "attester": attestation.attester, "valid": valid}
    verdict = "valid signature" if valid else "INVALID signature (or the attester rotated its key)"
    output.emit(document, f"{attestation.name}: {verdict} by {attestation.attester}")
    return 0 if valid else 1


async def _watch(client: RegistryClient, args: argparse.Namespace, output: Output) -> None:
    """Events as they commit; keepalives only move the resume position, so not shown."""
    seen = 0
    events = client.watch(args.after, args.types, args.of_agent, from_oldest=args.from_oldest)
    async for event in events:
        if event.type == resources_pb2.EVENT_TYPE_KEEPALIVE:
            continue
        output.event(event)
        seen += 1
        if args.count is not None and seen >= args.count:
            return


async def _api_keys(client: RegistryClient, args: argparse.Namespace, output: Output) -> None:
    if args.api == "create":
        created = await client.api_keys.create(args.display_name, args.scopes or ["read"])
        output.message(created, f"{created.key}\n{created.name}  (the key is shown only once)")
    elif args.api == "list":
        listed = await client.api_keys.list()
        lines = [
            f"{k.name}  {k.display_name}  {k.key_prefix}…  {','.join(k.scopes)}"
            for k in listed.api_keys
        ]
        output.lines(listed, lines, "no API keys")
    else:
        await client.api_keys.delete(args.name)
        output.emit({"deleted": args.name}, f"deleted {args.name}")


def _state(message: Any) -> str:
    """A webhook's or delivery's state as people read it: `enabled`, `succeeded`."""
    return str(message.State.Name(message.state)).removeprefix("STATE_").lower()


async def _webhooks(client: RegistryClient, args: argparse.Namespace, output: Output) -> None:
    action = args.webhooks_command
    if action in ("create", "rotate-secret"):
        if action == "create":
            hook = await client.webhooks.create(args.url, args.event_types)
        else:
            hook = await client.webhooks.rotate_secret(args.name)
        output.message(hook, f"{hook.name}\nsecret {hook.secret}  (shown only once)")
    elif action == "list":
        listed = await client.webhooks.list()
        lines = [f"{h.name}  {h.url}  {_state(h)}" for h in listed.webhooks]
        output.lines(listed, lines, "no webhooks")
    elif action == "delete":
        await client.webhooks.delete(args.name)
        output.emit({"deleted": args.name}, f"deleted {args.name}")
    elif action in ("pause", "enable"):
        hook = await client.webhooks.set_state(
            args.name, "PAUSED" if action == "pause" else "ENABLED"
        )
        output.message(hook, f"{hook.name}  {_state(hook)}")
    else:
        deliveries = await client.webhooks.deliveries(args.name)
        lines = [
            f"{d.name}  event {d.event_id}  {_state(d)}  attempts {d.attempts}"
            for d in deliveries.deliveries
        ]
        output.lines(deliveries, lines, "no deliveries")


def _read(path: str) -> str:
    return Path(path).read_text()


async def _cards(client: RegistryClient, args: argparse.Namespace, output: Output) -> None:
    if args.cards_command == "get":
        card = await client.get_card(args.name)
        output.emit(card, json.dumps(card, indent=2))
        return
    text = sys.stdin.read() if args.file == "-" else await asyncio.to_thread(_read, args.file)
    checked = await client.verify_card(json.loads(text), args.of_agent)
    status = agent_card_service_pb2.CardSignatureStatus.Name(checked.signature_status)
    output.message(checked, status.removeprefix("CARD_SIGNATURE_STATUS_").lower())


async def _admin(client: RegistryClient, args: argparse.Namespace, output: Output) -> None:
    if args.api_key is None:
        raise ValueError("operator calls need an operator key: --api-key or AGENTREGISTRY_API_KEY")
    if args.admin_command == "set-plan":
        key = await client.operator.set_plan(args.name, args.plan, args.reason)
        output.message(key, f"{key.name}  plan {args.plan}")
        return
    agent = await client.operator.moderate(args.admin_command, args.name, args.reason)
    output.agent(agent)
