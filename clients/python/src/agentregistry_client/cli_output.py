"""What the CLI prints: with --json one JSON object per line (protos as the JSON API
prints them), else short lines for people. Errors go to stderr either way."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from typing import Any

from google.protobuf.message import Message

from agentregistry_client._proto import resources_pb2, search_service_pb2
from agentregistry_client.convert import to_dict
from agentregistry_client.errors import RegistryError


def _enum_name(enum: Any, value: int, prefix: str) -> str:
    return str(enum.Name(value)).removeprefix(prefix).lower()


def agent_line(agent: resources_pb2.Agent) -> str:
    kind = _enum_name(resources_pb2.AgentType, agent.type, "AGENT_TYPE_")
    status = _enum_name(resources_pb2.AgentStatus, agent.status, "AGENT_STATUS_")
    verified = " verified" if agent.verified else ""
    return (
        f"{agent.name}  {agent.display_name}  {kind}  {status}  "
        f"trust {agent.trust_score:.1f}{verified}"
    )


def event_line(event: resources_pb2.Event) -> str:
    when = event.create_time.ToDatetime().isoformat(timespec="seconds")
    kind = resources_pb2.EventType.Name(event.type).removeprefix("EVENT_TYPE_")
    return f"{event.id}  {when}Z  {kind}  {event.agent}"


class Output:
    def __init__(self, json_mode: bool) -> None:
        self.json_mode = json_mode

    def emit(self, document: dict[str, Any], text: str) -> None:
        print(json.dumps(document) if self.json_mode else text, flush=True)

    def message(self, message: Message, text: str | None = None) -> None:
        """A proto: its JSON form, or `text` (default: the proto's text format)."""
        self.emit(to_dict(message), text if text is not None else str(message).rstrip())

    def agent(self, agent: resources_pb2.Agent) -> None:
        self.message(agent, agent_line(agent))

    def event(self, event: resources_pb2.Event) -> None:
        self.message(event, event_line(event))

    def results(
        self, response: Message, results: Iterable[search_service_pb2.SearchResult]
    ) -> None:
        """A search or find response: whole as JSON, one line per result as text."""
        if self.json_mode:
            self.emit(to_dict(response), "")
            return
        lines = [f"{r.score:.3f}  {agent_line(r.agent)}" for r in results]
        print("\n".join(lines) if lines else "no agents found", flush=True)

    def lines(self, response: Message, lines: Iterable[str], empty: str) -> None:
        if self.json_mode:
            self.emit(to_dict(response), "")
            return
        shown = list(lines)
        print("\n".join(shown) if shown else empty, flush=True)

    def error(self, error: RegistryError) -> None:
        if self.json_mode:
            print(json.dumps({"error": error.to_dict()}), file=sys.stderr)
        else:
            print(f"error: {error}", file=sys.stderr)

    def fail(self, message: str) -> None:
        if self.json_mode:
            print(json.dumps({"error": {"message": message}}), file=sys.stderr)
        else:
            print(f"error: {message}", file=sys.stderr)
