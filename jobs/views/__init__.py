"""Console pages of the jobs app (SPEC §8): jobs, the live timeline, the delivery log. Each view
parses, authorizes through ``tenants.access.tenant_for``, calls one service and renders."""
