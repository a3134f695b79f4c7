"""Maintenance jobs that run in their own process, once across all instances."""
