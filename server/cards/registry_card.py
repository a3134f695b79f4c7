"""The registry's own A2A card, served at `/.well-known/agent-card.json`.

It tells an A2A client what the registry does (its skills: search, find by need, browse
the catalog, agent cards) and where: the JSON API under the public URL and each agent's
card at `{public URL}/agents/{id}/.well-known/agent-card.json`. The registry answers no
A2A calls, so its interface names its own binding: a client looking for a transport it
speaks finds none here and sends no A2A message to an API that would not understand it.
"""

from __future__ import annotations

from typing import Any

from server.cards.versions import CURRENT, LEGACY, LEGACY_CARD_VERSION, REGISTRY_EXTENSION

NAME = "Agent Registry"
# The registry's JSON API (the OpenAPI document at /openapi.json): not an A2A binding.
BINDING = "AgentRegistry+HTTP+JSON"


def _skill(skill_id: str, name: str, description: str, *tags: str) -> dict[str, Any]:
    return {"id": skill_id, "name": name, "description": description, "tags": list(tags)}


def _skills(base: str) -> list[dict[str, Any]]:
    search = _skill(
        "search-agents",
        "Search agents",
        "Agents matching keywords (quoted phrases, `or`, `-exclude`) over names, tags,"
        " capabilities and descriptions, filtered by capability, type, protocol, tag,"
        " minimum trust or verified only, ranked by relevance, trust and presence:"
        f" GET {base}/v1/agents:search?query=...",
        *("search", "discovery", "agents"),
    )
    find = _skill(
        "find-agents",
        "Find agents for a need",
        "Agents for a request in plain language, matched to the capability catalog by"
        " words and by meaning, most trusted for those capabilities first:"
        f" GET {base}/v1/agents:find?query=...",
        *("discovery", "natural-language", "agents"),
    )
    browse = _skill(
        "browse-capabilities",
        "Browse capabilities",
        "The capability catalog, and the agents offering one capability, most trusted"
        f" for it first: GET {base}/v1/capabilities and"
        f" GET {base}/v1/capabilities/{{id}}/agents",
        *("discovery", "catalog", "capabilities"),
    )
    cards = _skill(
        "agent-cards",
        "Agent cards",
        "Every registered agent's A2A card, as it published it or as the registry knows"
        f" it: {base}/agents/{{id}}/.well-known/agent-card.json, so an A2A card resolver"
        f" given {base}/agents/{{id}} as the agent's URL finds it",
        *("a2a", "agent-card", "discovery"),
    )
    search["examples"] = ['"contract translation" legal', "python or java -beta"]
    find["examples"] = ["book me a flight to Lisbon", "summarise this contract in Portuguese"]
    browse["examples"] = ["which agents offer summarization?"]
    cards["examples"] = [f"{base}/agents/ag_0123456789abcdef/.well-known/agent-card.json"]
    return [search, find, browse, cards]


def registry_card(base: str, software_version: str, version: str = CURRENT) -> dict[str, Any]:
    """The card in the A2A line `version`; `base` is the registry's public URL."""
    api = f"{base}/v1"
    card: dict[str, Any] = {
        "name": NAME,
        "description": (
            "A registry of AI agents: find agents by keywords, by need or by capability,"
            " with their trust and live presence, and read each agent's A2A card."
        ),
        "version": software_version,
        "documentationUrl": f"{base}/skill.md",
        "capabilities": {
            "extensions": [
                {
                    "uri": REGISTRY_EXTENSION,
                    "description": (
                        "Cards this registry builds carry its view of the agent here: trust,"
                        " presence, catalog capabilities, proven domain."
                    ),
                }
            ]
        },
        "defaultInputModes": ["text/plain"],
        "defaultOutputModes": ["application/json"],
        "skills": _skills(base),
    }
    if version == LEGACY:
        card.update(protocolVersion=LEGACY_CARD_VERSION, url=api, preferredTransport=BINDING)
    else:
        interface = {"url": api, "protocolBinding": BINDING, "protocolVersion": CURRENT}
        card["supportedInterfaces"] = [interface]
    return card
