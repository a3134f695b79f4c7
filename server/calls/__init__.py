"""The call layer: what the registry does around every call, wrapped once around each
method's handler where it is registered (server/call.py)."""
