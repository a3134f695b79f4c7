"""The hot path's Redis: the calls a request waits on, each one script over one
pipelined connection, and what rides along in those scripts (a call's admission)."""
