"""ORM models, one module per concept; import from here so metadata is complete."""

from db.models.agents import AGENT_STATUSES, AGENT_TYPES, AgentRow
from db.models.api_keys import API_KEY_PLANS, ApiKeyRow
from db.models.attestations import ATTESTATION_KINDS, ATTESTATION_STATES, AttestationRow
from db.models.capabilities import AgentCapabilityRow, CapabilityRow
from db.models.cards import AgentCardRow
from db.models.counters import AgentCountRow
from db.models.embeddings import AgentEmbeddingRow, CapabilityEmbeddingRow
from db.models.events import EventRow
from db.models.feed_cursors import FeedCursorRow
from db.models.trust import AgentTrustRow, CapabilityTrustRow, TrustKeyRow, TrustRunRow
from db.models.webhooks import DELIVERY_STATES, WEBHOOK_STATES, WebhookDeliveryRow, WebhookRow

__all__ = [
    "AGENT_STATUSES",
    "AGENT_TYPES",
    "API_KEY_PLANS",
    "ATTESTATION_KINDS",
    "ATTESTATION_STATES",
    "DELIVERY_STATES",
    "WEBHOOK_STATES",
    "AgentCapabilityRow",
    "AgentCardRow",
    "AgentCountRow",
    "AgentEmbeddingRow",
    "AgentRow",
    "AgentTrustRow",
    "ApiKeyRow",
    "AttestationRow",
    "CapabilityEmbeddingRow",
    "CapabilityRow",
    "CapabilityTrustRow",
    "EventRow",
    "FeedCursorRow",
    "TrustKeyRow",
    "TrustRunRow",
    "WebhookDeliveryRow",
    "WebhookRow",
]
