"""The RPC metrics of every call, and its log line when it is worth one.

Every call counts in `agentregistry_rpc_requests_total` and
`agentregistry_rpc_duration_seconds`. A call that fails, or takes longer than
SLOW_CALL_S, logs one structured line at INFO (method, code, duration, peer);
every other call logs it at DEBUG only, so a busy worker does not format a line
per call that nobody reads (the metrics already count them). The request id
(from `x-request-id`, else minted) goes back with the response metadata
(server/call.py) and onto every log line written while
serving the call.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import grpc
from prometheus_client import Counter, Histogram

from server.observability.metrics import RPC_LATENCY, RPC_REQUESTS

log = logging.getLogger("agentregistry.access")
SLOW_CALL_S = 1.0


class Series:
    """One method's metric children, looked up once per code instead of per call."""

    __slots__ = ("_children", "method")

    def __init__(self, method: str) -> None:
        self.method = method
        self._children: dict[str, tuple[Counter, Histogram]] = {}

    def observe(self, code: str, duration_s: float) -> None:
        children = self._children.get(code)
        if children is None:
            children = self._children[code] = (
                RPC_REQUESTS.labels(self.method, code),
                RPC_LATENCY.labels(self.method, code),
            )
        children[0].inc()
        children[1].observe(duration_s)


def _outcome(context: Any, error: BaseException | None) -> str:
    code = context.code()
    if code is not None and code is not grpc.StatusCode.OK:
        return code.name if isinstance(code, grpc.StatusCode) else str(code)
    return "CANCELLED" if error is not None else "OK"


def record(
    series: Series,
    context: Any,
    started: float,
    error: BaseException | None,
    peer: str | None = None,
) -> None:
    """`peer` is given by streams, which may be torn down by now; a unary call is alive."""
    duration = time.perf_counter() - started
    code = _outcome(context, error)
    series.observe(code, duration)
    level = logging.INFO if code != "OK" or duration > SLOW_CALL_S else logging.DEBUG
    if not log.isEnabledFor(level):
        return
    log.log(
        level,
        "rpc %s %s",
        series.method,
        code,
        extra={
            "method": series.method,
            "code": code,
            "duration_ms": round(duration * 1000, 2),
            "peer": peer if peer is not None else context.peer(),
        },
    )
