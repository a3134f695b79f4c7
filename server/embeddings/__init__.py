"""Sentence embeddings for semantic search, computed locally (no network at run time)."""
