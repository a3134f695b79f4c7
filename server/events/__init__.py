"""The change feed (WatchEvents): the outbox as a resumable stream."""
