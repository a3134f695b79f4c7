"""The bounded JSON parser for documents from outside: each limit refused with its reason."""

from __future__ import annotations

import pytest

from server.domain import documents


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"[" * 30_000 + b"]" * 30_000, documents.LIMIT_EXCEEDED),
        (
            b"[" * (documents.MAX_DEPTH + 1) + b"]" * (documents.MAX_DEPTH + 1),
            documents.LIMIT_EXCEEDED,
        ),
        (b'"' + b"x" * 70_000 + b'"', documents.LIMIT_EXCEEDED),
        (b'{"a": NaN}', documents.NUMBER_INVALID),
        (b"[Infinity]", documents.NUMBER_INVALID),
        (b"[-Infinity]", documents.NUMBER_INVALID),
        (b"[1e999]", documents.NUMBER_INVALID),
        (b"[9007199254740992]", documents.NUMBER_INVALID),
        (b"[" + b"9" * 5000 + b"]", documents.NUMBER_INVALID),
        (b'{"\\udc00": 1}', documents.TEXT_INVALID),
        (b"{'a': 1}", documents.NOT_JSON),
        (b"[1,]", documents.NOT_JSON),
    ],
)
def test_hostile_documents_are_refused_with_their_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(documents.DocumentRefused) as refused:
        documents.loads(raw, max_bytes=64 * 1024)
    assert refused.value.reason == reason


def test_brackets_inside_strings_do_not_count_as_depth() -> None:
    raw = b'{"a": ["' + b"[" * 1000 + b'\\"{{"], "b": -9007199254740991, "c": 1.5e300}'
    assert documents.loads(raw, max_bytes=64 * 1024) == {
        "a": ["[" * 1000 + '"{{'],
        "b": -(2**53 - 1),
        "c": 1.5e300,
    }
    nested = b"[" * documents.MAX_DEPTH + b"]" * documents.MAX_DEPTH
    assert documents.loads(nested, max_bytes=1024) is not None
