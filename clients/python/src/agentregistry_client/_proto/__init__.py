"""Generated stubs of agentregistry.v1; `make proto`."""
