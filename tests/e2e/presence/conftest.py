"""Presence tests share one short-timing server per module (see tests.presence_support)."""

from tests.presence_support import presence_client

__all__ = ["presence_client"]
