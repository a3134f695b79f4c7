"""What the CLI prints: `-o json` one JSON object per line (protos as the JSON API prints
them), `-o yaml` one YAML document each (needs PyYAML), else short lines for people.
Errors go to stderr in the same form."""

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


def attestation_line(attestation: resources_pb2.Attestation) -> str:
    """`attestations/…  by A about B: behaviour 80  active`."""
    claim = attestation.WhichOneof("claim")
    if claim == "behaviour":
        what = f"behaviour {attestation.behaviour.score}"
    elif claim == "identity":
        what = f"identity {attestation.identity.value!r}"
    elif claim == "capability":
        verdict = "offers" if attestation.capability.value else "does not offer"
        what = f"{verdict} {attestation.capability.capability}"
    else:
        what = "no claim"
    state = str(attestation.State.Name(attestation.state)).removeprefix("STATE_").lower()
    return (
        f"{attestation.name}  by {attestation.attester} about {attestation.subject}: "
        f"{what}  {state}"
    )


def reputation_lines(reputation: resources_pb2.Reputation) -> list[str]:
    rated = "" if reputation.rated else "  (unrated: no evidence yet)"
    lines = [
        f"{reputation.name}  trust {reputation.trust_score:.1f}{rated}",
        f"  standing {reputation.standing_score:.1f}  behaviour {reputation.behaviour_score:.1f}"
        f" from {reputation.behaviour_claims} claims  confidence {reputation.confidence:.2f}",
    ]
    lines += [
        f"  {c.capability}  support {c.weighted_support:.2f}" + ("  verified" if c.verified else "")
        for c in reputation.capabilities
    ]
    flags = [
        resources_pb2.ReputationFlag.Name(f).removeprefix("REPUTATION_FLAG_")
        for f in reputation.flags
    ]
    if flags:
        lines.append("  flags " + ", ".join(flags))
    return lines


class Output:
    def __init__(self, mode: str) -> None:
        self.mode = mode

    @property
    def structured(self) -> bool:
        return self.mode in ("json", "yaml")

    def _document(self, document: Any, stream: Any = None) -> None:
        out = stream or sys.stdout
        if self.mode == "yaml":
            try:
                import yaml  # only here: PyYAML is not a dependency of the client
            except ImportError:
                raise ImportError("-o yaml needs PyYAML: pip install pyyaml") from None

            print("---", file=out)
            print(yaml.safe_dump(document, sort_keys=False).rstrip(), file=out, flush=True)
        else:
            print(json.dumps(document), file=out, flush=True)

    def emit(self, document: dict[str, Any], text: str) -> None:
        if self.structured:
            self._document(document)
        else:
            print(text, flush=True)

    def message(self, message: Message, text: str) -> None:
        """A proto: its JSON form, or `text` for people."""
        self.emit(to_dict(message), text)

    def agent(self, agent: resources_pb2.Agent) -> None:
        self.message(agent, agent_line(agent))

    def event(self, event: resources_pb2.Event) -> None:
        self.message(event, event_line(event))

    def results(
        self, response: Message, results: Iterable[search_service_pb2.SearchResult]
    ) -> None:
        """A search or find response: whole as JSON, one line per result as text."""
        lines = [f"{r.score:.3f}  {agent_line(r.agent)}" for r in results]
        self.lines(response, lines, "no agents found")

    def lines(self, response: Message, lines: Iterable[str], empty: str) -> None:
        if self.structured:
            self._document(to_dict(response))
            return
        shown = list(lines)
        print("\n".join(shown) if shown else empty, flush=True)

    def error(self, error: RegistryError) -> None:
        if self.structured:
            self._document({"error": error.to_dict()}, sys.stderr)
            return
        because = f" ({error.reason})" if error.reason else ""
        print(f"error: {error.message}{because} [{error.code.name}]", file=sys.stderr)
        for field, description in error.fields.items():
            print(f"  {field}: {description}", file=sys.stderr)
        if error.retry_after_s is not None:
            print(f"  retry after {error.retry_after_s:g} s", file=sys.stderr)

    def fail(self, message: str) -> None:
        if self.structured:
            self._document({"error": {"message": message}}, sys.stderr)
        else:
            print(f"error: {message}", file=sys.stderr)
