"""The metrics endpoint exposes the series operators alert on."""

from __future__ import annotations

import urllib.request

import grpc
import pytest
from agentregistry.v1 import registry_service_pb2

from server.observability.metrics_http import serve_metrics
from tests.factories import register


@pytest.fixture(scope="module")
def metrics_url():
    server, port = serve_metrics("127.0.0.1", 0)
    yield f"http://127.0.0.1:{port}/metrics"
    server.shutdown()


def _scrape(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.read().decode()


async def test_rpc_cache_and_pool_series(registry, registry_server, metrics_url) -> None:
    agent = await register(registry)
    for _ in range(2):
        await registry.GetAgent(registry_service_pb2.GetAgentRequest(name=agent.name))
    with pytest.raises(grpc.aio.AioRpcError):
        await registry.GetAgent(registry_service_pb2.GetAgentRequest(name="agents/bad"))
    await registry_server.health.check_once()
    text = _scrape(metrics_url)
    get_agent = 'method="/agentregistry.v1.RegistryService/GetAgent"'
    assert f'agentregistry_rpc_requests_total{{code="OK",{get_agent}}}' in text
    assert f'agentregistry_rpc_requests_total{{code="INVALID_ARGUMENT",{get_agent}}}' in text
    for code in ("OK", "INVALID_ARGUMENT"):
        bucket = (
            f'agentregistry_rpc_duration_seconds_bucket{{code="{code}",le="0.005",{get_agent}}}'
        )
        assert bucket in text
    assert 'agentregistry_cache_lookups_total{result="hit"}' in text
    assert "process_resident_memory_bytes" in text
    assert 'agentregistry_build_info{python="' in text
    assert 'agentregistry_db_pool_connections{state="idle"}' in text
    for series in [
        "agentregistry_heartbeat_streams",
        "agentregistry_rate_limited_total",
        "agentregistry_rate_limit_fallback",
        "agentregistry_job_duration_seconds",
        "agentregistry_webhook_backlog",
    ]:
        assert f"# TYPE {series}" in text


def test_multiprocess_endpoint_has_process_series_and_build_info(tmp_path, monkeypatch) -> None:
    """What `python -m server` serves: the workers' summed files plus the serving
    process's own process_* series and the build info."""
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    server, port = serve_metrics("127.0.0.1", 0)
    try:
        text = _scrape(f"http://127.0.0.1:{port}/metrics")
    finally:
        server.shutdown()
    assert "process_resident_memory_bytes" in text
    assert "python_info{" in text
    assert 'agentregistry_build_info{python="' in text
