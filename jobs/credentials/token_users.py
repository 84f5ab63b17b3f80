"""The GitLab users of the tokens Mate minted, for "events Mate caused" (SPEC §5.2; T32).

Every per-job key and clone token is a project access token whose GitLab user (a project bot)
writes the job's notes, MRs and commits. Its ``user_id``, recorded at minting and kept after
revocation, is how a later delivery is known to be Mate's own doing.
"""

from __future__ import annotations

from collections.abc import Iterable

from jobs.events import involved_user_ids
from jobs.models import JobToken
from tenants.models import Tenant


def minted_users_in(tenant: Tenant, payload: object) -> frozenset[int]:
    """The user ids of ``payload`` (actor, note and MR authors) that are users of tokens Mate
    minted for ``tenant``: what ``jobs.events.derive_events`` takes as ``minted_user_ids``.

    One query, bounded by the payload (never by how many jobs the tenant ran).
    """
    return minted_among(tenant, involved_user_ids(payload))


def minted_among(tenant: Tenant, user_ids: Iterable[int]) -> frozenset[int]:
    """Those of ``user_ids`` that are users of tokens Mate minted for ``tenant`` (one query)."""
    ids = frozenset(user_ids)
    if not ids:
        return frozenset()
    found = JobToken.objects.filter(job__tenant=tenant, gitlab_user_id__in=ids).values_list(
        "gitlab_user_id", flat=True
    )
    return frozenset(found)
