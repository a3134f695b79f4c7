"""Signed attestations between agents."""
