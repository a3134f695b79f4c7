"""Card imports register or update through the registry, keeping the card as received."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from server.cards.signatures import SignatureStatus
from server.cards.versions import lines_of
from server.domain.agents import Agent
from server.domain.errors import InvalidArgument, PermissionDenied
from tests.card_support import sample_card, signed
from tests.factories import raw_public_key, register_signature
from tests.service.conftest import World, caller


async def _import(
    world: World, card: dict[str, Any], key: Ed25519PrivateKey
) -> tuple[Agent, bool, SignatureStatus]:
    return await world.cards.import_card(
        None, card, "", None, raw_public_key(key), register_signature(key), None
    )


async def test_a_signed_card_registers_an_agent_with_its_catalog_skills(world: World) -> None:
    key = Ed25519PrivateKey.generate()
    card = signed(sample_card("Translator"), key)
    agent, created, status = await _import(world, card, key)
    assert created and status is SignatureStatus.VERIFIED
    assert agent.profile.display_name == "Translator"
    assert agent.capabilities == ("translation",)  # "proofread" is not in the catalog
    assert world.db.tables.cards[agent.agent_id] == card
    assert await world.cards.card(agent.agent_id, min(lines_of(card))) == card  # as published


async def test_a_forged_card_is_refused_and_nothing_stored(world: World) -> None:
    key, forger = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    with pytest.raises(InvalidArgument):
        await _import(world, signed(sample_card("Forged"), forger), key)
    assert world.db.tables.agents == {} and world.db.tables.cards == {}


async def test_the_owner_updates_by_card_and_only_the_owner(world: World) -> None:
    key = Ed25519PrivateKey.generate()
    agent, _, _ = await _import(world, signed(sample_card("Before"), key), key)
    newer = signed(sample_card("After", description="Now also Spanish."), key)
    with pytest.raises(PermissionDenied):
        await world.cards.import_card(
            caller("ag_someone_else"), newer, "", agent.agent_id, b"", b"", None
        )
    updated, created, _ = await world.cards.import_card(
        caller(agent.agent_id), newer, "", agent.agent_id, b"", b"", None
    )
    assert not created and updated.profile.display_name == "After"
    assert world.db.tables.cards[agent.agent_id] == newer


async def test_a_profile_update_retires_the_published_card(world: World) -> None:
    key = Ed25519PrivateKey.generate()
    agent, _, _ = await _import(world, signed(sample_card("Published"), key), key)
    await world.registry.update(
        caller(agent.agent_id), agent.agent_id, {"description": "x"}, ["description"], ""
    )
    assert agent.agent_id not in world.db.tables.cards
    served = await world.cards.card(agent.agent_id, min(lines_of(sample_card("any"))))
    assert served["description"] == "x" and "signatures" not in served
