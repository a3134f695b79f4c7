"""Domain types and rules shared by features; imports neither grpc nor SQL."""
