"""Initial schema, search triggers and the capability catalog.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-26

Hand-reviewed. Tables come from the models; indexes with expressions, DESC keys
or operator classes, and the search triggers, are written out as SQL below.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from db.migrations.catalog_0001 import CATALOG

revision: str = "0001_initial"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# search_vector is kept by BEFORE INSERT/UPDATE triggers rather than a GENERATED
# column. array_to_string is only STABLE, so a generated column would need an
# IMMUTABLE wrapper that misstates its volatility; and a stored generated
# column is recomputed on every UPDATE of the row, while presence flushes and
# trust recomputation rewrite agents in bulk all the time. `UPDATE OF <cols>`
# re-parses the text only when a searched column is written.
SEARCH_TRIGGERS = """
CREATE FUNCTION agents_search_vector_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.search_vector :=
        setweight(to_tsvector('english', NEW.display_name), 'A')
        || setweight(to_tsvector('english',
               array_to_string(NEW.tags, ' ') || ' '
               || array_to_string(NEW.protocols, ' ') || ' '
               || NEW.capability_text), 'B')
        || setweight(to_tsvector('english', NEW.description), 'C');
    RETURN NEW;
END
$$;

CREATE TRIGGER agents_search_vector
BEFORE INSERT OR UPDATE OF display_name, description, tags, protocols, capability_text
ON agents FOR EACH ROW EXECUTE FUNCTION agents_search_vector_update();

CREATE FUNCTION capabilities_search_vector_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.search_vector :=
        setweight(to_tsvector('english', NEW.display_name), 'A')
        || setweight(to_tsvector('english', array_to_string(NEW.synonyms, ' ')), 'B')
        || setweight(to_tsvector('english', NEW.description), 'C');
    RETURN NEW;
END
$$;

CREATE TRIGGER capabilities_search_vector
BEFORE INSERT OR UPDATE OF display_name, description, synonyms
ON capabilities FOR EACH ROW EXECUTE FUNCTION capabilities_search_vector_update();
"""

# Written as SQL for readability; `alembic check` still compares them with the models.
SQL_INDEXES = """
CREATE INDEX ix_agents_display_name_prefix ON agents (lower(display_name) text_pattern_ops);
CREATE INDEX ix_agents_display_name_trgm ON agents USING gin (lower(display_name) gin_trgm_ops);
CREATE INDEX ix_agents_created_at_id ON agents (created_at DESC, id DESC);
CREATE INDEX ix_agents_agent_type_created_at_id ON agents (agent_type, created_at DESC, id DESC);
CREATE INDEX ix_agents_trust_score_id ON agents (trust_score DESC, id);
CREATE INDEX ix_agent_capabilities_capability_id_trust
    ON agent_capabilities (capability_id, trust DESC, agent_id);
CREATE INDEX ix_attestations_subject_id_created_at_id
    ON attestations (subject_id, created_at DESC, id DESC);
CREATE INDEX ix_attestations_attester_id_created_at_id
    ON attestations (attester_id, created_at DESC, id DESC);
CREATE UNIQUE INDEX uq_attestations_active_claim
    ON attestations (attester_id, subject_id, kind, coalesce(capability_id, ''))
    WHERE state = 'active';
CREATE INDEX ix_api_keys_agent_id_created_at_id ON api_keys (agent_id, created_at DESC, id DESC);
CREATE INDEX ix_webhooks_agent_id_created_at_id ON webhooks (agent_id, created_at DESC, id DESC);
CREATE INDEX ix_webhook_deliveries_webhook_id_created_at_id
    ON webhook_deliveries (webhook_id, created_at DESC, id DESC);
"""


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_table(
        "agents",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("display_name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("agent_type", sa.Text(), nullable=False),
        sa.Column("endpoint_uri", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column(
            "tags",
            postgresql.ARRAY(sa.Text()),
            server_default=sa.text("'{}'::text[]"),
            nullable=False,
        ),
        sa.Column(
            "protocols",
            postgresql.ARRAY(sa.Text()),
            server_default=sa.text("'{}'::text[]"),
            nullable=False,
        ),
        sa.Column(
            "metadata",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("capability_text", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("status", sa.Text(), server_default=sa.text("'offline'"), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("trust_score", sa.Double(), server_default=sa.text("0"), nullable=False),
        sa.Column("trust_computed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("verified", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("key_version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "search_vector",
            postgresql.TSVECTOR(),
            server_default=sa.text("''::tsvector"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "agent_type IN ('assistant', 'autonomous', 'tool', 'orchestrator', 'service')",
            name=op.f("ck_agents_agent_type"),
        ),
        sa.CheckConstraint(
            "status IN ('online', 'offline', 'busy', 'maintenance')", name=op.f("ck_agents_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agents")),
        sa.UniqueConstraint("public_key", name=op.f("uq_agents_public_key")),
    )
    op.create_index(
        op.f("ix_agents_protocols"), "agents", ["protocols"], unique=False, postgresql_using="gin"
    )
    op.create_index(
        op.f("ix_agents_search_vector"),
        "agents",
        ["search_vector"],
        unique=False,
        postgresql_using="gin",
    )
    op.create_index(op.f("ix_agents_status"), "agents", ["status"], unique=False)
    op.create_index(
        op.f("ix_agents_tags"), "agents", ["tags"], unique=False, postgresql_using="gin"
    )
    op.create_index(
        op.f("ix_agents_verified"),
        "agents",
        ["verified"],
        unique=False,
        postgresql_where=sa.text("verified"),
    )
    op.create_table(
        "capabilities",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("display_name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column(
            "synonyms",
            postgresql.ARRAY(sa.Text()),
            server_default=sa.text("'{}'::text[]"),
            nullable=False,
        ),
        sa.Column("agent_count", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "search_vector",
            postgresql.TSVECTOR(),
            server_default=sa.text("''::tsvector"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_capabilities")),
    )
    op.create_index(
        op.f("ix_capabilities_search_vector"),
        "capabilities",
        ["search_vector"],
        unique=False,
        postgresql_using="gin",
    )
    op.create_table(
        "events",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("event_type", sa.Text(), nullable=False),
        sa.Column("agent_id", sa.Text(), nullable=False),
        sa.Column(
            "data",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    op.create_index(op.f("ix_events_agent_id_id"), "events", ["agent_id", "id"], unique=False)
    op.create_table(
        "agent_capabilities",
        sa.Column("agent_id", sa.Text(), nullable=False),
        sa.Column("capability_id", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("verified", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("trust", sa.Double(), server_default=sa.text("0"), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_agent_capabilities_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["capability_id"],
            ["capabilities.id"],
            name=op.f("fk_agent_capabilities_capability_id_capabilities"),
        ),
        sa.PrimaryKeyConstraint("agent_id", "capability_id", name=op.f("pk_agent_capabilities")),
    )
    op.create_index(
        op.f("ix_agent_capabilities_capability_id_agent_id"),
        "agent_capabilities",
        ["capability_id", "agent_id"],
        unique=False,
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("agent_id", sa.Text(), nullable=False),
        sa.Column("display_name", sa.Text(), nullable=False),
        sa.Column("key_hash", sa.LargeBinary(), nullable=False),
        sa.Column("key_prefix", sa.Text(), nullable=False),
        sa.Column(
            "scopes",
            postgresql.ARRAY(sa.Text()),
            server_default=sa.text("'{}'::text[]"),
            nullable=False,
        ),
        sa.Column("plan", sa.Text(), server_default=sa.text("'free'"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("plan IN ('free', 'pro', 'enterprise')", name=op.f("ck_api_keys_plan")),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_api_keys_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    op.create_table(
        "attestations",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("attester_id", sa.Text(), nullable=False),
        sa.Column("subject_id", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("capability_id", sa.Text(), nullable=True),
        sa.Column("capability_value", sa.Boolean(), nullable=True),
        sa.Column("identity_value", sa.Text(), nullable=True),
        sa.Column("behaviour_score", sa.SmallInteger(), nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.Column("state", sa.Text(), server_default=sa.text("'active'"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "kind IN ('capability', 'identity', 'behaviour')", name=op.f("ck_attestations_kind")
        ),
        sa.CheckConstraint(
            "state IN ('active', 'replaced', 'revoked', 'expired')",
            name=op.f("ck_attestations_state"),
        ),
        sa.CheckConstraint(
            "behaviour_score BETWEEN 0 AND 100", name=op.f("ck_attestations_behaviour_score")
        ),
        sa.ForeignKeyConstraint(
            ["attester_id"],
            ["agents.id"],
            name=op.f("fk_attestations_attester_id_agents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["capability_id"],
            ["capabilities.id"],
            name=op.f("fk_attestations_capability_id_capabilities"),
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["agents.id"],
            name=op.f("fk_attestations_subject_id_agents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attestations")),
    )
    op.create_index(
        "ix_attestations_active_expires_at",
        "attestations",
        ["expires_at"],
        unique=False,
        postgresql_where=sa.text("state = 'active'"),
    )
    op.create_index(
        op.f("ix_attestations_created_at"), "attestations", ["created_at"], unique=False
    )
    op.create_table(
        "webhooks",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("agent_id", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column(
            "event_types",
            postgresql.ARRAY(sa.Text()),
            server_default=sa.text("'{}'::text[]"),
            nullable=False,
        ),
        sa.Column("state", sa.Text(), server_default=sa.text("'enabled'"), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column(
            "consecutive_failures", sa.Integer(), server_default=sa.text("0"), nullable=False
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "state IN ('enabled', 'paused', 'disabled')", name=op.f("ck_webhooks_state")
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_webhooks_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhooks")),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("webhook_id", sa.Text(), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.Text(), server_default=sa.text("'pending'"), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "state IN ('pending', 'succeeded', 'failed')", name=op.f("ck_webhook_deliveries_state")
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_webhook_deliveries_event_id_events"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["webhook_id"],
            ["webhooks.id"],
            name=op.f("fk_webhook_deliveries_webhook_id_webhooks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
        sa.UniqueConstraint(
            "webhook_id", "event_id", name=op.f("uq_webhook_deliveries_webhook_id_event_id")
        ),
    )
    op.create_index(
        op.f("ix_webhook_deliveries_event_id"), "webhook_deliveries", ["event_id"], unique=False
    )
    op.create_index(
        "ix_webhook_deliveries_pending_next_attempt_at",
        "webhook_deliveries",
        ["next_attempt_at"],
        unique=False,
        postgresql_where=sa.text("state = 'pending'"),
    )
    op.execute(SQL_INDEXES)
    op.execute(SEARCH_TRIGGERS)
    catalog = sa.table(
        "capabilities",
        sa.column("id", sa.Text()),
        sa.column("display_name", sa.Text()),
        sa.column("description", sa.Text()),
        sa.column("synonyms", postgresql.ARRAY(sa.Text())),
    )
    op.bulk_insert(
        catalog,
        [
            {"id": cid, "display_name": name, "description": text, "synonyms": list(synonyms)}
            for cid, name, text, synonyms in CATALOG
        ],
    )


def downgrade() -> None:
    for table in (
        "webhook_deliveries",
        "webhooks",
        "attestations",
        "api_keys",
        "agent_capabilities",
        "events",
        "capabilities",
        "agents",
    ):
        op.drop_table(table)
    op.execute("DROP FUNCTION agents_search_vector_update()")
    op.execute("DROP FUNCTION capabilities_search_vector_update()")
