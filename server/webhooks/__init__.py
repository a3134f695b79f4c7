"""Webhooks: registry events delivered to agents' HTTPS endpoints, signed, at least once."""
