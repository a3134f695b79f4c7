"""Envoy as the JSON edge: its config rendered for this host, and the process running it."""
