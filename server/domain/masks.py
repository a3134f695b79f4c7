"""Update masks (AIP-134): which fields an Update call may change."""

from __future__ import annotations

from collections.abc import Collection, Set

from server.domain.errors import InvalidArgument


def masked_fields(
    paths: Collection[str], updatable: Set[str], populated: Collection[str] = ()
) -> set[str]:
    """The fields `paths` names ("*": all of `updatable`); INVALID_ARGUMENT on update_mask if
    it names a field that cannot be updated.

    Without a mask, AIP-134 makes the update cover every field populated in the request's
    resource: `populated` (the set fields, found by the proto conversion) among `updatable`;
    output-only fields set there are ignored, as they are with a mask.
    """
    allowed = ", ".join(sorted(updatable))
    if not paths:
        implied = set(populated) & set(updatable)
        if not implied:
            raise InvalidArgument.field(
                "update_mask", f"is empty and no field to update is set; allowed: {allowed}"
            )
        return implied
    unknown = [p for p in paths if p not in updatable and p != "*"]
    if unknown:
        raise InvalidArgument.field(
            "update_mask", f"cannot update {', '.join(unknown)}; allowed: {allowed}"
        )
    return set(updatable) if "*" in paths else set(paths)
