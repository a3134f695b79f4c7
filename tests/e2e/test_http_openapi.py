"""Schemathesis against the generated OpenAPI document and Envoy in front of the server.

Every operation gets a bounded number of generated requests; a response must
not be a server error and must match the documented status codes, content
type and schema. RPCs the server does not serve yet answer 501 and are skipped.
"""

from __future__ import annotations

import asyncio
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import checks

from scripts.gen_protos import OPENAPI_NAME, PACKAGE_DIR, ROOT
from tests.e2e.gateway_support import Edge

OPENAPI = ROOT / "generated" / PACKAGE_DIR / OPENAPI_NAME
EXAMPLES_PER_OPERATION = 8
NOT_SERVED_YET = 501


CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]


def _exercise(operation: Any, base_url: str) -> list[int]:
    """Bounded generated requests to one operation; returns the statuses seen."""
    answered: list[int] = []

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def run(case: Any) -> None:
        response = case.call(base_url=base_url, timeout=10)
        answered.append(response.status_code)
        if response.status_code != NOT_SERVED_YET:
            case.validate_response(response, checks=CHECKS)

    run()
    return answered


def _fuzz(base_url: str) -> tuple[list[str], int]:
    schema = schemathesis.openapi.from_path(OPENAPI)
    failures: list[str] = []
    served = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        try:
            answered = _exercise(operation, base_url)
        except Exception as failure:
            failures.append(f"{operation.label}: {failure}")
            continue
        served += any(code != NOT_SERVED_YET for code in answered)
    return failures, served


async def test_http_edge_conforms_to_openapi(gateway: Edge) -> None:
    # Hypothesis drives blocking HTTP calls: run it off the loop that serves them.
    failures, served = await asyncio.to_thread(_fuzz, gateway.url)
    assert not failures, "\n\n".join(failures)
    assert served >= 10  # registry and auth operations, at least
