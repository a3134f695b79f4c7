"""The trust engine and the reputation read side."""
