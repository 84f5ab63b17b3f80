"""Tenants, memberships, bots, secrets and the tenant-side console (SPEC §1-§3)."""
