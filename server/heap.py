"""Handing freed memory back to the system.

glibc keeps what a process frees for its own later use, so a process that once built a
large working set (a trust graph, a model session) keeps its size long after: PSS
reports it as used. `trim` returns the free pages at the top of each heap and arena.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc


def trim() -> None:
    """Collect garbage, then give free heap pages back (glibc only; elsewhere a no-op)."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
