"""AuthService as JSON over HTTP: challenge → session → bearer token, and its errors."""

from __future__ import annotations

import base64

import httpx

from tests.e2e.gateway_support import (
    b64,
    register_http,
)
from tests.factories import session_signature


async def test_login_over_http_and_logout(http: httpx.AsyncClient) -> None:
    key, agent, _ = await register_http(http, login=False)
    challenge = await http.post("/v1/challenges", json={"agent": agent["name"]})
    assert challenge.status_code == 200
    assert set(challenge.json()) == {"challengeId", "nonce", "expireTime"}
    nonce = base64.b64decode(challenge.json()["nonce"])
    # snake_case field names are accepted on input.
    session = await http.post(
        "/v1/sessions",
        json={
            "challenge_id": challenge.json()["challengeId"],
            "signature": b64(session_signature(key, nonce)),
        },
    )
    assert session.status_code == 200, session.text
    assert session.json()["agent"] == agent["name"]
    assert session.headers["cache-control"] == "no-store"
    auth = {"authorization": f"Bearer {session.json()['token']}"}

    ended = await http.delete("/v1/sessions/current", headers=auth)
    assert ended.status_code == 200 and ended.json() == {}
    again = await http.delete("/v1/sessions/current", headers=auth)
    assert again.status_code == 401
    invalid = 'Bearer realm="agentregistry", error="invalid_token"'
    assert again.headers["www-authenticate"] == invalid


async def test_session_errors(http: httpx.AsyncClient) -> None:
    _, agent, _ = await register_http(http, login=False)
    unknown_agent = await http.post("/v1/challenges", json={"agent": "agents/ag_nobodyhere000000"})
    assert unknown_agent.status_code == 404
    challenge = (await http.post("/v1/challenges", json={"agent": agent["name"]})).json()
    wrong = await http.post(
        "/v1/sessions",
        json={"challengeId": challenge["challengeId"], "signature": b64(b"\x01" * 64)},
    )
    assert wrong.status_code in (400, 401), wrong.text
    malformed = await http.delete("/v1/sessions/current", headers={"authorization": "Basic x"})
    assert malformed.status_code == 401
    challenge_sent = malformed.headers["www-authenticate"]
    assert challenge_sent == 'Bearer realm="agentregistry", error="invalid_request"'
    none_sent = await http.delete("/v1/sessions/current")
    assert none_sent.headers["www-authenticate"] == 'Bearer realm="agentregistry"'
    assert "www-authenticate" not in unknown_agent.headers  # a 404 challenges nobody
    not_json = await http.post(
        "/v1/challenges", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert not_json.status_code == 400 and not_json.json()["code"] == 3
    # A rule without a body: Envoy ignores one sent anyway, so this is just unauthenticated.
    body_on_delete = await http.request("DELETE", "/v1/sessions/current", json={"x": 1})
    assert body_on_delete.status_code == 401
