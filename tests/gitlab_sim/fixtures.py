"""pytest fixtures that start the GitLab simulator (registered in tests/conftest.py)."""
