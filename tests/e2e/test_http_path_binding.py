"""Through Envoy, the URL path names the resource: a body (or query) naming another one is
refused INVALID_ARGUMENT (400) with the field named, and nothing changes.

Envoy's transcoder lets the body override what the path bound, so without the check
`PATCH /v1/agents/<victim>` with the caller's own name in the body updated the caller.
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.e2e.gateway_support import register_http

HOOK_URL = "https://93.184.215.14/hook"  # a public address: accepted without DNS


def _refusal(response: httpx.Response) -> tuple[int, str, list[str]]:
    body = response.json()
    assert "details" in body, f"not refused: {response.status_code} {response.text}"
    details = body["details"]
    reason = next(d["reason"] for d in details if d["@type"].endswith("google.rpc.ErrorInfo"))
    fields = [
        violation["field"]
        for detail in details
        if detail["@type"].endswith("google.rpc.BadRequest")
        for violation in detail["fieldViolations"]
    ]
    return response.status_code, reason, fields


async def _agent(http: httpx.AsyncClient, name: str) -> dict[str, Any]:
    response = await http.get(f"/v1/{name}")
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_update_with_another_name_in_the_body_is_refused(http: httpx.AsyncClient) -> None:
    _, victim, _ = await register_http(http)
    _, caller, auth = await register_http(http)
    attack = await http.patch(
        f"/v1/{victim['name']}",
        params={"updateMask": "description"},
        json={"name": caller["name"], "description": "written through someone else's URL"},
        headers=auth,
    )
    assert _refusal(attack) == (400, "PATH_MISMATCH", ["agent.name"])
    assert (await _agent(http, caller["name"]))["description"] == caller["description"]
    assert (await _agent(http, victim["name"]))["description"] == victim["description"]

    # Without a name in the body, the path's agent is the one asked for: not the caller's.
    plain = await http.patch(
        f"/v1/{victim['name']}",
        params={"updateMask": "description"},
        json={"description": "nope"},
        headers=auth,
    )
    assert (plain.status_code, _refusal(plain)[1]) == (403, "NOT_OWNER")

    # The same name in both places is an ordinary update.
    own = await http.patch(
        f"/v1/{caller['name']}",
        params={"updateMask": "description"},
        json={"name": caller["name"], "description": "mine"},
        headers=auth,
    )
    assert own.status_code == 200, own.text
    assert own.json()["description"] == "mine"


async def test_whole_body_methods_and_query_strings_cannot_rename_either(
    http: httpx.AsyncClient,
) -> None:
    _, victim, _ = await register_http(http)
    _, caller, auth = await register_http(http)
    beat = await http.post(
        f"/v1/{victim['name']}:heartbeat", json={"name": caller["name"]}, headers=auth
    )
    assert _refusal(beat) == (400, "PATH_MISMATCH", ["name"])
    delete = await http.delete(
        f"/v1/{victim['name']}", params={"name": caller["name"]}, headers=auth
    )
    assert _refusal(delete) == (400, "PATH_MISMATCH", ["name"])
    assert (await _agent(http, caller["name"]))["name"] == caller["name"]  # still there


async def test_webhook_update_with_another_webhook_in_the_body_is_refused(
    http: httpx.AsyncClient,
) -> None:
    _, victim, victim_auth = await register_http(http)
    _, caller, auth = await register_http(http)
    hooks = []
    for agent, headers in ((victim, victim_auth), (caller, auth)):
        created = await http.post(
            f"/v1/{agent['name']}/webhooks", json={"url": HOOK_URL}, headers=headers
        )
        assert created.status_code == 200, created.text
        hooks.append(created.json())
    victim_hook, caller_hook = hooks
    attack = await http.patch(
        f"/v1/{victim_hook['name']}",
        params={"updateMask": "url"},
        json={"name": caller_hook["name"], "url": f"{HOOK_URL}/moved"},
        headers=auth,
    )
    assert _refusal(attack) == (400, "PATH_MISMATCH", ["webhook.name"])
    mine = await http.get(f"/v1/{caller_hook['name']}", headers=auth)
    assert mine.status_code == 200 and mine.json()["url"] == HOOK_URL
