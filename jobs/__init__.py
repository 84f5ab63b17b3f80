"""Deliveries, events, routing, jobs and their containers (SPEC §5-§6)."""
