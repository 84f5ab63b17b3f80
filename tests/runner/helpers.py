"""Reading a job's timeline in runner tests."""

from __future__ import annotations

import threading
import time

from django.db import connection

from jobs.models import Job, JobEvent
from jobs.services import lifecycle


def events(job: Job, kind: str) -> list[dict]:
    return list(JobEvent.objects.filter(job=job, kind=kind).values_list("data", flat=True))


def log_lines(job: Job) -> list[str]:
    return [data["line"] for data in events(job, JobEvent.Kind.LOG)]


def transitions(job: Job) -> list[tuple[str | None, str]]:
    return [(d["from"], d["to"]) for d in events(job, JobEvent.Kind.STATUS)]


def run_in_thread(job_id: int) -> threading.Thread:
    """``run_job`` in a worker-like thread (own database connection, closed at the end)."""

    def target():
        try:
            lifecycle.run_job(job_id)
        finally:
            connection.close()

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread


def wait_for(predicate, timeout: float = 20.0, step: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"condition not met within {timeout} s")


def status_of(job: Job) -> str:
    return Job.objects.values_list("status", flat=True).get(pk=job.pk)
