"""Refuses requests no handler should see: undecodable bytes, NUL in text, impossible times.

These rules hold for every field of every request, so they are checked once here
by walking the message rather than in each feature's validation: a new field is
covered the day it is added. Each problem is a BadRequest field violation named
by its proto path (`agent.metadata['k']`, `filter.tags[2]`).

- A request that does not decode (bad wire bytes, or nesting beyond protobuf's
  recursion limit) is INVALID_ARGUMENT with reason MALFORMED_REQUEST, not the
  INTERNAL gRPC would answer on its own.
- NUL (U+0000) in any string (Postgres text cannot hold it): TEXT_HAS_NUL.
- A google.protobuf.Timestamp outside 0001-01-01..9999-12-31 (the type's own
  valid range, which Python datetimes share): TIMESTAMP_OUT_OF_RANGE.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

from google.protobuf import message as pb_message
from google.protobuf.descriptor import Descriptor, FieldDescriptor

from server.domain import failures
from server.domain.errors import FieldViolation
from server.domain.text import has_nul

_TIMESTAMP = "google.protobuf.Timestamp"
_MIN_SECONDS = -62_135_596_800  # 0001-01-01T00:00:00Z
_MAX_SECONDS = 253_402_300_799  # 9999-12-31T23:59:59Z
_MAX_NANOS = 999_999_999


class Undecodable:
    """What a request that failed to decode becomes, so the call can answer for it."""

    def __init__(self, error: Exception) -> None:
        self.error = error


def tolerant(decode: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    if decode is None:
        return None

    def decode_or_mark(data: bytes) -> Any:
        try:
            return decode(data)
        except Exception as error:  # DecodeError, or RecursionError-like limits in upb
            return Undecodable(error)

    return decode_or_mark


def _timestamp_violations(path: str, value: Any) -> list[FieldViolation]:
    if not _MIN_SECONDS <= value.seconds <= _MAX_SECONDS or not 0 <= value.nanos <= _MAX_NANOS:
        return [FieldViolation(path, "must be between 0001-01-01 and 9999-12-31 (UTC)")]
    return []


_NUL = "must not contain NUL (U+0000)"
_map_fields: dict[FieldDescriptor, bool] = {}


def _is_map(field: FieldDescriptor) -> bool:
    """Cached: reading a descriptor's options builds a new message each time."""
    known = _map_fields.get(field)
    if known is None:
        known = _map_fields[field] = bool(
            field.message_type is not None and field.message_type.GetOptions().map_entry
        )
    return known


def _nested(item: Any, path: str, problems: list[FieldViolation]) -> None:
    if isinstance(item, str):
        if has_nul(item):
            problems.append(FieldViolation(path, _NUL))
    elif item.DESCRIPTOR.full_name == _TIMESTAMP:
        problems += _timestamp_violations(path, item)
    else:
        problems += violations(item, path + ".")


def violations(message: pb_message.Message, prefix: str = "") -> list[FieldViolation]:
    """Every NUL-holding string and out-of-range timestamp in `message`, by field path.
    Paths are built only for what is looked into: a clean request costs a few µs."""
    problems: list[FieldViolation] = []
    for field, value in message.ListFields():
        if field.type == FieldDescriptor.TYPE_STRING:
            if not field.is_repeated:
                if has_nul(value):
                    problems.append(FieldViolation(prefix + field.name, _NUL))
                continue
            for index, item in enumerate(value):
                if has_nul(item):
                    problems.append(FieldViolation(f"{prefix}{field.name}[{index}]", _NUL))
        elif field.type == FieldDescriptor.TYPE_MESSAGE:
            path = prefix + field.name
            if _is_map(field):
                for key in value:
                    entry = f"{path}[{key!r}]"
                    if isinstance(key, str) and has_nul(key):
                        problems.append(FieldViolation(entry, _NUL))
                    if isinstance(value[key], str | pb_message.Message):
                        _nested(value[key], entry, problems)
            elif field.is_repeated:
                for index, item in enumerate(value):
                    _nested(item, f"{path}[{index}]", problems)
            else:
                _nested(value, path, problems)
    return problems


def check(request: Any) -> None:
    if isinstance(request, Undecodable):
        raise failures.malformed_request()
    if isinstance(request, pb_message.Message):
        problems = violations(request)
        if problems:
            nul = any("NUL" in p.description for p in problems)
            raise (
                failures.text_has_nul(problems)
                if nul
                else failures.timestamp_out_of_range(problems)
            )


async def checked(requests: AsyncIterator[Any]) -> AsyncIterator[Any]:
    async for request in requests:
        check(request)
        yield request


def can_hold_checked_fields(descriptor: Descriptor) -> bool:
    """Whether any message of this type could hold a string or a timestamp, however deep:
    a request type that cannot (a heartbeat's, say) is not walked on every call."""
    seen: set[str] = set()

    def holds(message_type: Descriptor) -> bool:
        if message_type.full_name == _TIMESTAMP:
            return True
        if message_type.full_name in seen:
            return False  # recursion: whatever it holds is found on the first visit
        seen.add(message_type.full_name)
        for field in message_type.fields:
            if field.type == FieldDescriptor.TYPE_STRING:
                return True
            if field.message_type is not None and holds(field.message_type):
                return True
        return False

    return holds(descriptor)
