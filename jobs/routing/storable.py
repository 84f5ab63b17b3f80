"""Whether an event's values fit the rows routing writes (SPEC §5.3, §5.4).

Event detection takes any JSON integer and any string from the payload. GitLab's ids are 64-bit
and the job row stores ids as BIGINT and the project path in a bounded column: an event whose
values do not fit is ignored with the reason, before GitLab is asked anything, instead of
failing when its job is written (PostgreSQL refuses the row, SQLite cannot bind the integer).
"""

from __future__ import annotations

from jobs.events import Event
from jobs.models import Job

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_ID_FIELDS = (
    "project_id",
    "object_iid",
    "pipeline_id",
    "note_id",
    "source_project_id",
    "target_project_id",
)


def fits_64_bits(value: int) -> bool:
    return INT64_MIN <= value <= INT64_MAX


def _show(value: int) -> str:
    text = str(value)
    return text if len(text) <= 40 else f"{text[:20]}...({len(text)} digits)"


def unstorable(event: Event) -> str | None:
    """Why ``event`` cannot be routed to a job row, or None when it can."""
    for name in _ID_FIELDS:
        value = getattr(event, name)
        if value is not None and not fits_64_bits(value):
            return f"{name} {_show(value)} is out of range (GitLab ids fit in 64 bits)"
    for value in event.assignee_ids:
        if not fits_64_bits(value):
            return f"assignee id {_show(value)} is out of range (GitLab ids fit in 64 bits)"
    limit = Job._meta.get_field("project_path").max_length
    if event.project_path is not None and len(event.project_path) > limit:
        return (
            f"project path is {len(event.project_path)} characters long; "
            f"Mate stores at most {limit}"
        )
    return None
