"""The bytes an A2A card signature covers, as the official SDKs (a2a-sdk) compute them.

The A2A specification signs the RFC 8785 (JCS) form of the card without `signatures`,
and the SDKs build that form from their typed card, which drops what holds a default:
A2A 0.3 (pydantic, `exclude_defaults`) leaves out `protocolVersion` "0.3.0",
`preferredTransport` "JSONRPC" and every security scheme's `type`; A2A 1.x (protobuf,
`MessageToDict`) leaves out `false` in the fields without presence (an extension's
`required`, OAuth `pkceRequired`); both then drop empty strings, lists and objects
recursively. A card served as JSON carries those defaults, so canonicalising it as
received gives other bytes than the signer signed. The 0.3 SDK also wrote its payload
with `json.dumps` (sorted keys, non-ASCII escaped), which differs from JCS only for
non-ASCII text. The card exactly as received (without `signatures`) is the third form:
signers that sign what they serve, as the registry's own documentation said until now.
"""

from __future__ import annotations

import json
from typing import Any

import rfc8785

# A2A 0.3 AgentCard fields with a default value in the SDK's model.
_CARD_DEFAULTS: dict[str, str] = {"protocolVersion": "0.3.0", "preferredTransport": "JSONRPC"}


def _clean_empty(value: Any) -> Any:
    """None for "", [], {} and containers left empty once cleaned (the SDK's `_clean_empty`)."""
    if isinstance(value, dict):
        cleaned = {k: c for k, v in value.items() if (c := _clean_empty(v)) is not None}
        return cleaned or None
    if isinstance(value, list):
        items = [c for v in value if (c := _clean_empty(v)) is not None]
        return items or None
    if value == "" or value is None:
        return None
    return value


def _without(mapping: Any, key: str, default: Any) -> Any:
    if isinstance(mapping, dict) and key in mapping and mapping[key] == default:
        return {k: v for k, v in mapping.items() if k != key}
    return mapping


def _scheme(scheme: Any) -> Any:
    """A security scheme without its 0.3 `type` or its 1.x `pkceRequired: false`."""
    if not isinstance(scheme, dict):
        return scheme
    if isinstance(scheme.get("type"), str):  # A2A 0.3: the type is a fixed literal
        return {k: v for k, v in scheme.items() if k != "type"}
    oauth = scheme.get("oauth2SecurityScheme")
    if not isinstance(oauth, dict) or not isinstance(oauth.get("flows"), dict):
        return scheme
    flows: dict[str, Any] = oauth["flows"]
    if isinstance(flows.get("authorizationCode"), dict):
        code = _without(flows["authorizationCode"], "pkceRequired", False)
        flows = {**flows, "authorizationCode": code}
    return {**scheme, "oauth2SecurityScheme": {**oauth, "flows": flows}}


def sdk_form(card: dict[str, Any]) -> dict[str, Any]:
    """The card as the SDKs canonicalise it: no `signatures`, defaults and empties dropped."""
    body = {
        k: v
        for k, v in card.items()
        if k != "signatures" and not (k in _CARD_DEFAULTS and v == _CARD_DEFAULTS[k])
    }
    schemes = body.get("securitySchemes")
    if isinstance(schemes, dict):
        body["securitySchemes"] = {name: _scheme(s) for name, s in schemes.items()}
    capabilities = body.get("capabilities")
    if isinstance(capabilities, dict) and isinstance(capabilities.get("extensions"), list):
        extensions = [_without(e, "required", False) for e in capabilities["extensions"]]
        body["capabilities"] = {**capabilities, "extensions": extensions}
    return _clean_empty(body) or {}


def as_received(card: dict[str, Any]) -> bytes:
    """JCS of the card exactly as received, without `signatures`."""
    return rfc8785.dumps({k: v for k, v in card.items() if k != "signatures"})


def _integral(value: Any) -> Any:
    """Whole floats as ints: an inline card's numbers all arrive as doubles (Struct)."""
    if isinstance(value, dict):
        return {k: _integral(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_integral(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# The fields of A2A 1.x messages (protobuf JSON names) where an SDK-served card also
# carries 0.3 fields for older clients; a 1.x verifier parses the card, so it drops those.
_V1_CARD = frozenset(
    {
        "name", "description", "supportedInterfaces", "provider", "version",
        "documentationUrl", "capabilities", "securitySchemes", "securityRequirements",
        "defaultInputModes", "defaultOutputModes", "skills", "signatures", "iconUrl",
    }
)  # fmt: skip
_V1_CAPABILITIES = frozenset({"streaming", "pushNotifications", "extensions", "extendedAgentCard"})
_V1_SKILL = frozenset(
    {"id", "name", "description", "tags", "examples", "inputModes", "outputModes",
     "securityRequirements"}
)  # fmt: skip
_V1_INTERFACE = frozenset({"url", "protocolBinding", "tenant", "protocolVersion"})
_V1_SCHEMES = frozenset(
    {"apiKeySecurityScheme", "httpAuthSecurityScheme", "oauth2SecurityScheme",
     "openIdConnectSecurityScheme", "mtlsSecurityScheme"}
)  # fmt: skip


def _only(value: Any, keys: frozenset[str]) -> Any:
    return {k: v for k, v in value.items() if k in keys} if isinstance(value, dict) else value


def _each(value: Any, keys: frozenset[str]) -> Any:
    return [_only(v, keys) for v in value] if isinstance(value, list) else value


def v1_view(card: dict[str, Any]) -> dict[str, Any] | None:
    """The card as an A2A 1.x verifier reads it (1.x fields only), or None for a card
    without `supportedInterfaces` (A2A 0.3)."""
    if not isinstance(card.get("supportedInterfaces"), list):
        return None
    view: dict[str, Any] = _only(card, _V1_CARD)
    view["supportedInterfaces"] = _each(view["supportedInterfaces"], _V1_INTERFACE)
    if "capabilities" in view:
        view["capabilities"] = _only(view["capabilities"], _V1_CAPABILITIES)
    if "skills" in view:
        view["skills"] = _each(view["skills"], _V1_SKILL)
    schemes = view.get("securitySchemes")
    if isinstance(schemes, dict):
        view["securitySchemes"] = {k: _only(v, _V1_SCHEMES) for k, v in schemes.items()}
    return view


def forms(card: dict[str, Any]) -> list[tuple[bytes, dict[str, Any]]]:
    """Every form a signer may have signed, most likely first, without repeats: (the
    bytes, the card those bytes cover, which is all a verified signature vouches for)."""
    candidates: list[tuple[bytes, dict[str, Any]]] = []
    view = v1_view(card)
    if view is not None:
        candidates.append((rfc8785.dumps(sdk_form(view)), view))
    form = sdk_form(card)
    candidates += [
        (rfc8785.dumps(form), card),
        # a2a-sdk 0.3 signed json.dumps output: sorted keys, non-ASCII escaped
        (json.dumps(_integral(form), sort_keys=True, separators=(",", ":")).encode(), card),
        (as_received(card), card),
    ]
    unique: dict[bytes, dict[str, Any]] = {}
    for payload, covered in candidates:
        unique.setdefault(payload, covered)
    return list(unique.items())
