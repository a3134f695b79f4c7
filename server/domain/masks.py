"""Update masks (AIP-134): which fields an Update call may change."""

from __future__ import annotations

from collections.abc import Set

from server.domain.errors import InvalidArgument


def masked_fields(paths: list[str], updatable: Set[str]) -> set[str]:
    """The fields `paths` names ("*": all of `updatable`); INVALID_ARGUMENT on update_mask if
    it is empty or names a field that cannot be updated."""
    if not paths:
        raise InvalidArgument.field("update_mask", "must name at least one field")
    unknown = [p for p in paths if p not in updatable and p != "*"]
    if unknown:
        raise InvalidArgument.field(
            "update_mask",
            f"cannot update {', '.join(unknown)}; allowed: {', '.join(sorted(updatable))}",
        )
    return set(updatable) if "*" in paths else set(paths)
