"""The permission-gated GitLab tool service for job containers (SPEC §7)."""
