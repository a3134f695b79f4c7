"""The OpenAPI document says what the edge really answers: the headers the server's
metadata becomes, 304 on reads, 401 with its challenge, 429 with retry-after, and no
hard-coded host (it is served by the edge it describes)."""

from __future__ import annotations

import json
from typing import Any

from scripts.gen_protos import OPENAPI_NAME, PACKAGE_DIR, ROOT

DOCUMENT: dict[str, Any] = json.loads((ROOT / "generated" / PACKAGE_DIR / OPENAPI_NAME).read_text())


def _resolve(item: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in item:
        node: Any = DOCUMENT
        for part in item["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        item = node
    return item


def test_servers_are_relative() -> None:
    assert DOCUMENT["servers"] == [{"url": "/"}]


def test_every_operation_documents_401_429_and_its_headers() -> None:
    operations = [(m, op) for item in DOCUMENT["paths"].values() for m, op in item.items()]
    assert len(operations) > 40
    for method, operation in operations:
        responses = operation["responses"]
        unauthenticated, limited = _resolve(responses["401"]), _resolve(responses["429"])
        assert "www-authenticate" in unauthenticated["headers"]
        assert {"retry-after", "x-ratelimit-remaining"} <= set(limited["headers"])
        ok_headers = set(responses["200"]["headers"])
        assert {"x-request-id", "x-ratelimit-limit"} <= ok_headers
        if method == "get":
            assert {"etag", "cache-control"} <= ok_headers
            assert "headers" in _resolve(responses["304"])
            params = [_resolve(p)["name"] for p in operation["parameters"]]
            assert "If-None-Match" in params
        else:
            assert "304" not in responses
