"""The CLI's commands: each one parsed argument namespace in, one or more outputs out."""

from __future__ import annotations

import argparse
import asyncio
import base64
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import grpc

from agentregistry_client.cli_output import Output, event_line
from agentregistry_client.client import RegistryClient
from agentregistry_client.convert import agent_filter
from agentregistry_client.keys import AgentKey
from agentregistry_client.signing import Claim, verify_attestation


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
        key = _key(args) or AgentKey.generate()
        if key.agent is not None:
            raise FileExistsError(f"this key is already registered as {key.agent}")
        if key.path is None and AgentKey.from_env() is None:
            key.save(args.key_file)
            _say(f"new key pair in {args.key_file}")
        async with _client(args, key) as client:
            return await _register(client, args, output)
    async with _client(args, _key(args)) as client:
        return await _call(client, args, output)


def _keys(args: argparse.Namespace, output: Output) -> int:
    if args.keys_command == "generate":
        if Path(args.key_file).exists() and not args.force:
            raise FileExistsError(f"{args.key_file} exists; --force replaces it")
        key = AgentKey.generate()
        key.save(args.key_file)
    else:
        found = _key(args)
        if found is None:
            raise FileNotFoundError(f"no key: {args.key_file} does not exist")
        key = found
    public = base64.b64encode(key.public_key).decode()
    document = {"publicKey": public, "agent": key.agent, "keyFile": str(key.path or "")}
    output.emit(document, f"{public}  {key.agent or '(not registered)'}  {key.path or 'env'}")
    return 0


async def _register(client: RegistryClient, args: argparse.Namespace, output: Output) -> int:
    agent = await client.register(
        args.display_name,
        args.type,
        capabilities=args.capabilities,
        description=args.description,
        endpoint_uri=args.endpoint,
        tags=args.tags,
        protocols=args.protocols,
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
    elif command == "heartbeat":
        await _heartbeat(client, args, output)
    elif command == "get":
        output.agent(await client.get_agent(args.name))
    elif command in ("search", "find"):
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
        if command == "search":
            found = await client.search(args.query, args.limit, args.page_token, filter=filters)
            output.results(found, found.results)
        else:
            matched = await client.find(args.query, args.limit, args.page_token, filter=filters)
            if not args.json and matched.matched_capabilities:
                _say("understood: " + ", ".join(m.capability for m in matched.matched_capabilities))
            output.results(matched, matched.results)
    elif command == "suggest":
        hints = await client.suggest(args.prefix, args.limit)
        lines = [f"{s.agent}  {s.display_name}" for s in hints.suggestions]
        output.lines(hints, lines, "no suggestions")
    elif command == "attest":
        output.message(await client.attest(args.subject, _claim(args), valid_for=_days(args)))
    elif command == "revoke":
        output.message(await client.revoke(args.name))
    elif command == "verify":
        return await _verify(client, args, output)
    elif command == "watch":
        await _watch(client, args, output)
    elif command == "keys":
        await _api_keys(client, args, output)
    elif command == "webhooks":
        await _webhooks(client, args, output)
    return 0


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
        output.message(await client.send_heartbeat(args.status, args.load))
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
    seen = 0
    async for event in client.watch(args.after, args.types, args.of_agent):
        output.message(event, event_line(event))
        seen += 1
        if args.count is not None and seen >= args.count:
            return


async def _api_keys(client: RegistryClient, args: argparse.Namespace, output: Output) -> None:
    if args.api_command == "create":
        created = await client.api_keys.create(
            args.display_name, args.scopes or ["read"], args.plan
        )
        output.message(created, f"{created.key}\n{created.name}  (the key is shown only once)")
    elif args.api_command == "list":
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
    if action == "create":
        hook = await client.webhooks.create(args.url, args.event_types)
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
