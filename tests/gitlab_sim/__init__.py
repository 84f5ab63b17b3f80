"""A GitLab stand-in for tests and demos (DESIGN §5)."""
