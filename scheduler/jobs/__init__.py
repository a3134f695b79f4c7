"""The maintenance jobs. Each is one idempotent async function of a JobContext.

A job returns a small dict of figures (rows touched, …) that the runner logs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from scheduler.context import JobContext
from scheduler.jobs.cleanup import cleanup
from scheduler.jobs.domain_recheck import domain_recheck
from scheduler.jobs.embeddings import embeddings
from scheduler.jobs.presence_flush import presence_flush
from scheduler.jobs.presence_sweep import presence_sweep
from scheduler.jobs.trust_recompute import trust_recompute
from scheduler.jobs.webhook_delivery import webhook_delivery
from server.settings import Settings

JobFunction = Callable[[JobContext], Awaitable[dict[str, Any]]]


# How long an idle job that follows the outbox may wait between runs: a commit that
# wrote events runs it at once, so the wait only bounds what needs no event (a
# webhook's retry, an expiring claim).
IDLE_MAX_S = 60.0


@dataclass(frozen=True)
class Job:
    name: str
    run: JobFunction
    interval_s: Callable[[Settings], float]
    # Runs at once when a commit wrote events, and waits longer after each idle run (up
    # to IDLE_MAX_S); otherwise it runs every `interval_s` whatever it finds.
    follows_outbox: bool = False


JOBS: list[Job] = [
    Job("cleanup", cleanup, lambda s: s.cleanup_interval_s),
    Job(
        "webhook_delivery",
        webhook_delivery,
        lambda s: s.webhook_delivery_interval_s,
        follows_outbox=True,
    ),
    Job("presence_sweep", presence_sweep, lambda s: s.presence_sweep_interval_s),
    Job("presence_flush", presence_flush, lambda s: s.presence_flush_interval_s),
    # Attestations are events: a new one runs it at once (its Redis flag says what changed).
    Job(
        "trust_recompute",
        trust_recompute,
        lambda s: s.trust_check_interval_s,
        follows_outbox=True,
    ),
    Job("embeddings", embeddings, lambda s: s.embedding_interval_s, follows_outbox=True),
    # Often enough that due proofs are picked up soon; each run checks only what is due.
    Job("domain_recheck", domain_recheck, lambda s: min(s.domain_recheck_interval_s, 300.0)),
]
