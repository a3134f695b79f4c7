"""A2A Agent Cards: import, export and signature verification."""
