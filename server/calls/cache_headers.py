"""`cache-control` and `etag` on every unary response to an HTTP edge.

They join the response metadata (server/call.py),
which Envoy's transcoder passes on as response headers, so CDNs and browsers
can cache public reads. Anonymous calls to the public reads get
`public, max-age=N` from the method's declared policy (server/method_policy.py:
never longer than the server's own cache, capped at one heartbeat interval for
reads that carry live presence); everything else (writes, authenticated calls,
errors) gets `no-store`. GetAgentCard's answer varies with A2A-Version (Envoy adds
`vary: A2A-Version` to HTTP responses). The etag hashes the
response bytes, live status included, so `If-None-Match` is answered with 304
only while the client's copy is still what we would send.

Only calls an HTTP edge marks (EDGE_MARKER) get them: for a native gRPC client
they mean nothing, and sending initial metadata apart from the response is one
more batch through gRPC core per call (~10% of a worker serving cached searches).
"""

from __future__ import annotations

import hashlib
from typing import Any

from google.protobuf import message

from server.method_policy import MethodPolicy

NO_STORE = "no-store"


def cache_control(policy: MethodPolicy, credentialed: bool, live_max_age_s: int) -> str:
    """`credentialed`: the call carried `authorization` or `x-api-key`."""
    max_age = policy.public_max_age(live_max_age_s)
    if max_age <= 0 or credentialed:
        return NO_STORE
    return f"public, max-age={max_age}"


def etag_of(response: Any) -> str | None:
    """A strong entity tag (quoted, as HTTP wants it) of the whole representation.

    Not the resource's own AIP-154 etag: that one changes with stored writes only,
    while the response also carries live presence, so a 304 would keep serving an
    agent's old status."""
    if not isinstance(response, message.Message):
        return None
    digest = hashlib.sha256(response.SerializeToString(deterministic=True)).hexdigest()
    return f'"{digest[:16]}"'
