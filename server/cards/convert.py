"""A card sent inline (google.protobuf.Struct) -> a plain JSON object, within the document
limits of server.domain.documents.

The size is read from the message (`ByteSize`, native code) before anything walks it; the
walk then stops at the first level too deep and refuses NaN and infinities, which
`json_format.MessageToDict` would raise on as a bare ValueError (and RFC 8785 after it).
"""

from __future__ import annotations

import math
import re
from typing import Any

from google.protobuf import struct_pb2

from server.domain import documents, failures
from server.domain.errors import FieldViolation, InvalidArgument
from server.domain.reasons import Reason

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _refused(field: str, description: str, reason: Reason) -> InvalidArgument:
    return failures.document_refused([FieldViolation(field, description)], reason)


def _member(path: str, key: str) -> str:
    return f"{path}.{key}" if _NAME.fullmatch(key) else f"{path}[{key!r}]"


def _object(struct: struct_pb2.Struct, path: str, depth: int) -> dict[str, Any]:
    if depth > documents.MAX_DEPTH:
        raise _refused(
            path, f"nests deeper than {documents.MAX_DEPTH} levels", documents.LIMIT_EXCEEDED
        )
    return {key: _value(value, _member(path, key), depth) for key, value in struct.fields.items()}


def _value(value: struct_pb2.Value, path: str, depth: int) -> Any:
    kind = value.WhichOneof("kind")
    if kind == "struct_value":
        return _object(value.struct_value, path, depth + 1)
    if kind == "list_value":
        if depth + 1 > documents.MAX_DEPTH:
            raise _refused(
                path, f"nests deeper than {documents.MAX_DEPTH} levels", documents.LIMIT_EXCEEDED
            )
        return [
            _value(item, f"{path}[{index}]", depth + 1)
            for index, item in enumerate(value.list_value.values)
        ]
    if kind == "number_value":
        if not math.isfinite(value.number_value):
            raise _refused(path, "must be a finite number", documents.NUMBER_INVALID)
        return value.number_value
    if kind == "string_value":
        return value.string_value
    if kind == "bool_value":
        return value.bool_value
    return None


def card_from_struct(struct: struct_pb2.Struct, field: str = "card") -> dict[str, Any]:
    """The card as JSON; raises InvalidArgument naming the field at fault."""
    if struct.ByteSize() > documents.CARD_MAX_BYTES:
        raise _refused(
            field, f"is larger than {documents.CARD_MAX_BYTES} bytes", documents.LIMIT_EXCEEDED
        )
    return _object(struct, field, 1)
