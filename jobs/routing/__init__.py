"""Routing one Mate event to at most one job (SPEC §5.3).

``decide`` is pure (config in, decision out) and is shared by live routing and ``mate route``;
``gitlab_reads`` fetches what GitLab must tell; ``consider`` runs both for one event within the
per-delivery bounds (shared by routing and Explain); ``gates`` applies the database-backed rules.
"""
