"""Server interceptors, outermost first: access log, error mapping, auth."""
