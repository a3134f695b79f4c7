"""Client tests use the suite's real servers; presence ones the short-timing server."""

from tests.presence_support import presence_client

__all__ = ["presence_client"]
