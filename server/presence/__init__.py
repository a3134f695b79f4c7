"""Live presence: heartbeat streams, unary beats, the Redis store and its coalesced writer."""
