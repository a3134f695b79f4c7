"""Resource names (AIP-122) to ids and back; malformed names are INVALID_ARGUMENT."""

from __future__ import annotations

import re

from server.domain.errors import InvalidArgument
from server.domain.ids import AGENT_ID

_CAPABILITY_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_API_KEY_NAME = re.compile(r"^agents/(ag_[0-9A-Za-z]{16})/apiKeys/(ak_[0-9A-Za-z]{16})$")


def agent_name(agent_id: str) -> str:
    return f"agents/{agent_id}"


def capability_name(capability_id: str) -> str:
    return f"capabilities/{capability_id}"


def parse_agent_name(name: str, field: str) -> str:
    agent_id = name.removeprefix("agents/")
    if not name.startswith("agents/") or not AGENT_ID.fullmatch(agent_id):
        raise InvalidArgument.field(field, "must be agents/{agent_id} with an ag_ id")
    return agent_id


def parse_capability_name(name: str, field: str) -> str:
    capability_id = name.removeprefix("capabilities/")
    if not name.startswith("capabilities/") or not _CAPABILITY_ID.fullmatch(capability_id):
        raise InvalidArgument.field(field, "must be capabilities/{capability_id}")
    return capability_id


def api_key_name(agent_id: str, key_id: str) -> str:
    return f"agents/{agent_id}/apiKeys/{key_id}"


def parse_api_key_name(name: str, field: str) -> tuple[str, str]:
    match = _API_KEY_NAME.fullmatch(name)
    if match is None:
        raise InvalidArgument.field(field, "must be agents/{agent_id}/apiKeys/{api_key_id}")
    return match.group(1), match.group(2)
