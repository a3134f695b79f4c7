"""The built-in JSON/HTTP gateway, driven by the descriptor set's google.api.http rules."""
