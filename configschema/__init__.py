"""The configuration language (SPEC §4): pure Python, no database, no Django models."""
