"""Cards built, signed and served by the official A2A SDK (`a2a-sdk`, the 1.x line).

The 0.3 line (`a2a-sdk` 0.3.x) installs the same `a2a` package, so it cannot sit beside
1.x: its cards are built with the 0.3 models the 1.x SDK keeps (`a2a.compat.v0_3.types`)
and signed as a2a-sdk 0.3.26 signs (`a2a/utils/signing.py` with
`helpers.canonicalize_agent_card`: the model dumped without defaults, empties dropped,
`json.dumps` with sorted keys, then PyJWT's `jwt.encode` of that object).
"""

from __future__ import annotations

import json
from typing import Any

import jwt
from a2a.compat.v0_3 import types as v03
from a2a.server.request_handlers.response_helpers import agent_card_to_dict
from a2a.types import (
    AgentCapabilities,
    AgentCard,
    AgentInterface,
    AgentProvider,
    AgentSkill,
    APIKeySecurityScheme,
    SecurityScheme,
)
from a2a.utils.signing import create_agent_card_signer
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes


def v1_card(name: str, *, legacy_interface: bool = True) -> AgentCard:
    """A 1.x card; with a 0.3 interface the SDK serves 0.3 fields beside the 1.x ones."""
    interfaces = [
        AgentInterface(
            url="https://translator.example.com/a2a", protocol_binding="JSONRPC",
            protocol_version="1.0",
        )
    ]  # fmt: skip
    if legacy_interface:
        interfaces.append(
            AgentInterface(
                url="https://translator.example.com/a2a/v0", protocol_binding="JSONRPC",
                protocol_version="0.3",
            )
        )  # fmt: skip
    return AgentCard(
        name=name,
        description="Traduz contratos — English ↔ Português.",
        version="2.1.0",
        supported_interfaces=interfaces,
        provider=AgentProvider(organization="Example Ltd", url="https://example.com"),
        capabilities=AgentCapabilities(streaming=True, push_notifications=False),
        default_input_modes=["text/plain"],
        default_output_modes=["text/plain"],
        security_schemes={
            "key": SecurityScheme(
                api_key_security_scheme=APIKeySecurityScheme(location="header", name="X-Key")
            )
        },
        skills=[
            AgentSkill(
                id="translation", name="Translate contracts", description="EN <-> PT.",
                tags=["Legal Documents"], examples=["Translate this NDA"],
                input_modes=["application/pdf"],
            ),
            AgentSkill(id="proofread", name="Proofread", description="Checks.", tags=["x"]),
        ],
    )  # fmt: skip


def sign_v1(
    card: AgentCard, key: PrivateKeyTypes, alg: str = "EdDSA", **header_fields: str
) -> AgentCard:
    """The SDK's own signer (`a2a.utils.signing.create_agent_card_signer`); `header_fields`
    (`kid`, `jku`) go in the protected header."""
    header: Any = {"alg": alg, "kid": "key-1", "typ": "JOSE", **header_fields}
    return create_agent_card_signer(key, header)(card)


def served_v1(card: AgentCard) -> dict[str, Any]:
    """The JSON an SDK server answers at /.well-known/agent-card.json."""
    return json.loads(json.dumps(agent_card_to_dict(card)))


def v03_card(name: str) -> v03.AgentCard:
    return v03.AgentCard(
        name=name,
        description="Traduz contratos — English ↔ Português.",
        url="https://translator.example.com/a2a",
        version="2.1.0",
        provider=v03.AgentProvider(organization="Example Ltd", url="https://example.com"),
        capabilities=v03.AgentCapabilities(streaming=True),
        default_input_modes=["text/plain"],
        default_output_modes=["text/plain"],
        security_schemes={
            "key": v03.SecurityScheme(
                root=v03.APIKeySecurityScheme(in_=v03.In.header, name="X-Key")
            )
        },
        security=[{"key": []}],
        skills=[
            v03.AgentSkill(
                id="translation", name="Translate contracts", description="EN <-> PT.",
                tags=["Legal Documents"], examples=["Translate this NDA"],
            )
        ],
    )  # fmt: skip


def _clean_empty(value: Any) -> Any:
    if isinstance(value, dict):
        cleaned = {k: c for k, v in value.items() if (c := _clean_empty(v)) is not None}
        return cleaned or None
    if isinstance(value, list):
        items = [c for v in value if (c := _clean_empty(v)) is not None]
        return items or None
    return None if value == "" else value


def sign_v03(
    card: v03.AgentCard, key: PrivateKeyTypes, alg: str = "EdDSA", **header_fields: str
) -> v03.AgentCard:
    """As a2a-sdk 0.3.26's `create_agent_card_signer` signs."""
    dumped = card.model_dump(
        exclude={"signatures"}, exclude_defaults=True, exclude_none=True, by_alias=True
    )
    payload = json.loads(json.dumps(_clean_empty(dumped), separators=(",", ":"), sort_keys=True))
    token = jwt.encode(
        payload=payload, key=key, algorithm=alg, headers={"kid": "key-1", **header_fields}
    )
    protected, _, signature = token.split(".")
    entry = v03.AgentCardSignature(protected=protected, signature=signature)
    return card.model_copy(update={"signatures": [*(card.signatures or []), entry]})


def served_v03(card: v03.AgentCard) -> dict[str, Any]:
    """As an a2a-sdk 0.3 server serves it (`model_dump(mode="json", exclude_none=True)`)."""
    served: dict[str, Any] = card.model_dump(mode="json", exclude_none=True, by_alias=True)
    return served
