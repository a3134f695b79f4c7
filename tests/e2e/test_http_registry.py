"""RegistryService as JSON over HTTP through Envoy, backed by the real server."""

from __future__ import annotations

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.e2e.gateway_support import (
    b64,
    register_body,
    register_http,
)
from tests.factories import raw_public_key, rotate_message


def _reason(response: httpx.Response) -> str:
    body = response.json()
    infos = [d for d in body["details"] if d["@type"].endswith("google.rpc.ErrorInfo")]
    return str(infos[0]["reason"]) if infos else ""


def _fields(response: httpx.Response) -> list[str]:
    return [
        violation["field"]
        for detail in response.json()["details"]
        if detail["@type"].endswith("google.rpc.BadRequest")
        for violation in detail["fieldViolations"]
    ]


async def test_register_prints_camel_case_with_defaults(http: httpx.AsyncClient) -> None:
    _, agent, _ = await register_http(http, login=False)
    assert agent["name"].startswith("agents/ag_")
    assert agent["displayName"] == "HTTP Agent"
    assert agent["type"] == "AGENT_TYPE_SERVICE"
    # Unpopulated fields are printed, as Envoy's always_print_primitive_fields does.
    assert agent["endpointUri"] == "" and agent["capabilities"] == [] and agent["verified"] is False
    assert "display_name" not in agent


async def test_register_accepts_snake_case_fields(http: httpx.AsyncClient) -> None:
    key = Ed25519PrivateKey.generate()
    body = {
        "agent": {"display_name": "Snake Case", "type": "AGENT_TYPE_TOOL", "endpoint_uri": ""},
        "public_key": b64(raw_public_key(key)),
        "signature": register_body(key)["signature"],
        "capabilities": ["capabilities/code-generation"],
    }
    created = await http.post("/v1/agents", json=body)
    assert created.status_code == 200, created.text
    assert created.json()["displayName"] == "Snake Case"
    assert created.json()["capabilities"] == ["capabilities/code-generation"]


async def test_unknown_body_field_is_dropped_and_a_wrong_type_rejected(
    http: httpx.AsyncClient,
) -> None:
    # Envoy's transcoder drops JSON fields the message does not have (it has no strict mode).
    body = register_body(Ed25519PrivateKey.generate())
    body["agent"]["favouriteColour"] = "blue"
    response = await http.post("/v1/agents", json=body)
    assert response.status_code == 200, response.text
    assert "favouriteColour" not in response.json()
    wrong_type = register_body(Ed25519PrivateKey.generate())
    wrong_type["agent"]["tags"] = {"not": "a list"}
    rejected = await http.post("/v1/agents", json=wrong_type)
    assert rejected.status_code == 400
    assert rejected.json()["code"] == 3


async def test_bad_signature_is_400_with_field_violation(http: httpx.AsyncClient) -> None:
    body = register_body(Ed25519PrivateKey.generate())
    body["signature"] = b64(b"\x00" * 64)
    response = await http.post("/v1/agents", json=body)
    assert response.status_code == 400
    assert _reason(response) == "SIGNATURE_INVALID"
    assert _fields(response) == ["signature"]
    assert response.headers["cache-control"] == "no-store"


async def test_get_agent_and_etag_gives_304(http: httpx.AsyncClient) -> None:
    _, agent, _ = await register_http(http, login=False)
    got = await http.get(f"/v1/{agent['name']}")
    assert got.status_code == 200
    assert got.json()["name"] == agent["name"]
    # Live presence is in the body: reusable for one heartbeat interval (30 s), and the
    # HTTP etag covers the whole representation, not just the stored resource's etag.
    assert got.headers["cache-control"] == "public, max-age=30"
    assert got.headers["etag"].startswith('"') and got.headers["etag"] != f'"{agent["etag"]}"'
    again = await http.get(f"/v1/{agent['name']}", headers={"if-none-match": got.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    stale = await http.get(f"/v1/{agent['name']}", headers={"if-none-match": '"other"'})
    assert stale.status_code == 200


async def test_get_missing_agent_is_404(http: httpx.AsyncClient) -> None:
    response = await http.get("/v1/agents/ag_doesnotexist0000")
    assert response.status_code == 404
    assert _reason(response) == "AGENT_NOT_FOUND"
    assert response.json()["message"]


async def test_list_agents_maps_query_parameters(http: httpx.AsyncClient) -> None:
    await register_http(http, login=False, type="AGENT_TYPE_ORCHESTRATOR")
    await register_http(http, login=False, type="AGENT_TYPE_ORCHESTRATOR")
    first = await http.get(
        "/v1/agents", params={"pageSize": "1", "type": "AGENT_TYPE_ORCHESTRATOR"}
    )
    assert first.status_code == 200, first.text
    page = first.json()
    assert len(page["agents"]) == 1 and page["nextPageToken"]
    assert first.headers["cache-control"] == "public, max-age=30" and first.headers["etag"]
    # snake_case query names and enum numbers work as well (4 = ORCHESTRATOR).
    second = await http.get(
        "/v1/agents", params={"page_size": 1, "page_token": page["nextPageToken"], "type": 4}
    )
    assert second.status_code == 200, second.text
    assert second.json()["agents"][0]["type"] == "AGENT_TYPE_ORCHESTRATOR"
    assert second.json()["agents"][0]["name"] != page["agents"][0]["name"]


async def test_query_parameter_errors(http: httpx.AsyncClient) -> None:
    unknown = await http.get("/v1/agents", params={"colour": "blue"})
    assert unknown.status_code == 400
    wrong_type = await http.get("/v1/agents", params={"pageSize": "many"})
    assert wrong_type.status_code == 400
    negative = await http.get("/v1/agents", params={"pageSize": "-1"})
    assert negative.status_code == 400 and _fields(negative) == ["page_size"]


async def test_patch_with_update_mask(http: httpx.AsyncClient) -> None:
    _, agent, auth = await register_http(http)
    response = await http.patch(
        f"/v1/{agent['name']}",
        params={"updateMask": "displayName,description"},
        json={"displayName": "Renamed", "description": "New words.", "tags": ["ignored"]},
        headers=auth,
    )
    assert response.status_code == 200, response.text
    updated = response.json()
    assert (updated["displayName"], updated["description"]) == ("Renamed", "New words.")
    assert updated["tags"] == ["http"]  # not in the mask
    assert response.headers["cache-control"] == "no-store"
    stale = await http.patch(
        f"/v1/{agent['name']}",
        params={"update_mask": "description"},
        json={"description": "Again.", "etag": agent["etag"]},
        headers=auth,
    )
    assert stale.status_code == 409 and _reason(stale) == "ETAG_MISMATCH"


async def test_writes_need_a_session_and_ownership(http: httpx.AsyncClient) -> None:
    _, agent, auth = await register_http(http)
    _, _, other = await register_http(http)
    path = f"/v1/{agent['name']}"
    anonymous = await http.delete(path)
    assert anonymous.status_code == 401 and _reason(anonymous) == "SESSION_REQUIRED"
    bad_token = await http.delete(path, headers={"authorization": "Bearer nope"})
    assert bad_token.status_code == 401 and _reason(bad_token) == "SESSION_INVALID"
    not_owner = await http.delete(path, headers=other)
    assert not_owner.status_code == 403 and _reason(not_owner) == "NOT_OWNER"
    deleted = await http.delete(path, headers=auth)
    assert deleted.status_code == 200 and deleted.json() == {}
    assert (await http.get(path)).status_code == 404


async def test_authenticated_reads_are_not_stored(http: httpx.AsyncClient) -> None:
    _, agent, auth = await register_http(http)
    response = await http.get(f"/v1/{agent['name']}", headers=auth)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"


async def test_capability_verbs_and_catalog(http: httpx.AsyncClient) -> None:
    _, agent, auth = await register_http(http)
    added = await http.post(
        f"/v1/{agent['name']}:addCapability",
        json={"capability": "capabilities/code-generation"},
        headers=auth,
    )
    assert added.status_code == 200, added.text
    assert added.json()["capabilities"] == ["capabilities/code-generation"]
    removed = await http.post(
        f"/v1/{agent['name']}:removeCapability",
        json={"capability": "capabilities/code-generation"},
        headers=auth,
    )
    assert removed.status_code == 200 and removed.json()["capabilities"] == []
    missing = await http.post(
        f"/v1/{agent['name']}:addCapability",
        json={"capability": "capabilities/no-such-thing"},
        headers=auth,
    )
    assert missing.status_code == 404 and _reason(missing) == "CAPABILITY_NOT_FOUND"

    catalog = await http.get("/v1/capabilities", params={"pageSize": 3})
    assert catalog.status_code == 200
    assert len(catalog.json()["capabilities"]) == 3
    assert catalog.headers["cache-control"] == "public, max-age=3600"
    one = await http.get("/v1/capabilities/code-generation")
    assert one.status_code == 200 and one.json()["name"] == "capabilities/code-generation"
    tag = one.headers["etag"]
    assert (await http.get(one.url, headers={"if-none-match": f"W/{tag}"})).status_code == 304


async def test_rotate_key_verb(http: httpx.AsyncClient) -> None:
    key, agent, auth = await register_http(http)
    new_key = Ed25519PrivateKey.generate()
    current, new = raw_public_key(key), raw_public_key(new_key)
    signed = rotate_message(agent["name"], current, new)
    response = await http.post(
        f"/v1/{agent['name']}:rotateKey",
        json={
            "newPublicKey": b64(new),
            "signature": b64(key.sign(signed)),
            "new_key_signature": b64(new_key.sign(signed)),
        },
        headers=auth,
    )
    assert response.status_code == 200, response.text
    assert response.json()["keyVersion"] == 2
    assert response.json()["publicKey"] == b64(new)


async def test_http_caching_follows_live_presence(http: httpx.AsyncClient) -> None:
    """A beat changes the agent's status: the old etag no longer 304s and the body says so."""
    _, agent, auth = await register_http(http)
    path = f"/v1/{agent['name']}"
    offline = await http.get(path)
    assert offline.json()["status"] == "AGENT_STATUS_OFFLINE"
    tag = offline.headers["etag"]
    assert (await http.get(path, headers={"if-none-match": tag})).status_code == 304
    beat = await http.post(f"{path}:heartbeat", json={}, headers=auth)
    assert beat.status_code == 200, beat.text
    online = await http.get(path, headers={"if-none-match": tag})
    assert online.status_code == 200
    assert online.json()["status"] == "AGENT_STATUS_ONLINE"
    assert online.headers["etag"] != tag
    again = await http.get(path, headers={"if-none-match": online.headers["etag"]})
    assert again.status_code == 304  # no beat since: the same representation
