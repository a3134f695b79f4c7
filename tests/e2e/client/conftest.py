"""Client tests use the suite's real servers; presence ones the short-timing server."""

from tests.e2e.client.cli_support import cli
from tests.presence_support import presence_client

__all__ = ["cli", "presence_client"]
