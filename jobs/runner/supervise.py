"""Watching one running job container (SPEC §6.1, §6.6, §6.7; THREATS T15).

A reader thread follows the container's output and hands complete lines to the supervising
thread, which alone touches the database: each line becomes a redacted ``log`` event, and about
once a second the job row is read for a cancel request, a status changed by someone else, tool
calls (``last_activity_at``), the wall-clock deadline and the no-activity watchdog.
"""

from __future__ import annotations

import enum
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from jobs import timeline
from jobs.models import Job, JobEvent, JobStatus
from jobs.runner import containers

log = logging.getLogger(__name__)

POLL_SECONDS = 0.5
CHECK_SECONDS = 1.0
REFRESH_SECONDS = 60.0  # how often the per-job key's age is checked
ACTIVITY_BUMP_SECONDS = 30.0  # heartbeat for dropped (over-cap) lines
_END = object()


class Verdict(enum.Enum):
    EXITED = "exited"  # the agent process ended on its own
    TIMEOUT = "timeout"  # wall-clock timeout
    WATCHDOG = "watchdog"  # no activity for MATE_WATCHDOG_SECONDS
    CANCELED = "canceled"  # cancel requested (operator, staff, suspension, limits)
    TAKEN_OVER = "taken_over"  # someone else moved the job on (the reaper): hands off
    LOST = "lost"  # the container vanished under us


@dataclass
class Result:
    verdict: Verdict
    exit_code: int | None = None
    reason: str = ""


@dataclass
class Supervision:
    """Everything the loop needs; ``secrets`` may be replaced by ``refresh`` (new key values)."""

    job: Job
    container: object
    client: object
    secrets: tuple[str, ...]
    timeout_seconds: int
    refresh: Callable[[Job], tuple[str, ...] | None] | None = None
    started: float = field(default_factory=time.monotonic)
    last_line: float = 0.0
    last_refresh: float = 0.0
    last_bump: float = 0.0
    lines_written: int = 0
    dropped: int = 0

    def __post_init__(self) -> None:
        self.last_line = self.last_refresh = self.started


class LogReader(threading.Thread):
    """Follows the container's output into a bounded queue; never touches the database."""

    def __init__(self, client, container_id: str, since: int | None = None) -> None:
        super().__init__(daemon=True, name=f"logs-{container_id[:12]}")
        self.client, self.container_id, self.since = client, container_id, since
        self.lines: queue.Queue = queue.Queue(maxsize=10_000)
        self.stopping = threading.Event()
        self.drained = False  # the end of the stream was consumed

    def run(self) -> None:
        try:
            chunks = containers.log_chunks(self.client, self.container_id, self.since)
            for line in containers.lines(chunks):
                if not self._put(line):
                    return
        except Exception as exc:  # the stream broke: the supervisor checks the container
            log.warning("log stream of %s ended: %s", self.container_id[:12], type(exc).__name__)
        self._put(_END)

    def _put(self, item) -> bool:
        while not self.stopping.is_set():
            try:
                self.lines.put(item, timeout=0.5)
                return True
            except queue.Full:
                continue
        return False


def _write_line(sup: Supervision, line: str) -> None:
    cap = settings.MATE_MAX_LOG_LINES
    if sup.lines_written < cap:
        timeline.append(sup.job, JobEvent.Kind.LOG, {"line": line}, secrets=sup.secrets)
        sup.lines_written += 1
        if sup.lines_written == cap:
            message = f"log capped at {cap} lines (MATE_MAX_LOG_LINES); later lines are dropped"
            timeline.append(sup.job, JobEvent.Kind.WARNING, {"message": message})
        return
    sup.dropped += 1


def drain(sup: Supervision, reader: LogReader, *, wait: float) -> bool:
    """Write queued lines (waiting up to ``wait`` for the first); True when the stream ended."""
    deadline = time.monotonic() + wait
    while True:
        try:
            item = reader.lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            return False
        if item is _END:
            reader.drained = True
            return True
        _write_line(sup, item)
        sup.last_line = time.monotonic()
        if sup.last_line >= deadline:  # a flood must not starve the checks
            return False


def _check(sup: Supervision, now: float) -> Result | None:
    """Re-read the job row and decide whether the job must stop now."""
    job = sup.job
    row = (
        Job.objects.filter(pk=job.pk)
        .values("status", "cancel_requested_at", "cancel_reason", "last_activity_at")
        .first()
    )
    if row is None or row["status"] != JobStatus.RUNNING:
        return Result(Verdict.TAKEN_OVER, reason="the job was moved on by another process")
    if row["cancel_requested_at"] is not None:
        return Result(Verdict.CANCELED, reason=row["cancel_reason"] or "cancel requested")
    if now - sup.started >= sup.timeout_seconds:
        return Result(Verdict.TIMEOUT, reason=f"wall-clock timeout of {sup.timeout_seconds} s")
    watchdog = settings.MATE_WATCHDOG_SECONDS
    last = row["last_activity_at"]
    idle_db = (timezone.now() - last).total_seconds() if last else float("inf")
    idle = min(idle_db, now - sup.last_line)
    if idle >= watchdog:
        return Result(Verdict.WATCHDOG, reason=f"no activity for {watchdog} s (watchdog)")
    return None


def _maybe_refresh(sup: Supervision, now: float) -> None:
    if now - sup.last_refresh < REFRESH_SECONDS:
        return
    sup.last_refresh = now
    # A job can supervise for hours inside one task: drop a connection the database closed.
    close_old_connections()
    if sup.refresh is None:
        return
    try:
        updated = sup.refresh(sup.job)
    except Exception as exc:  # the tool service reports a missing key on its own
        log.warning("job %s: key refresh failed: %s", sup.job.uid, type(exc).__name__)
        return
    if updated:
        sup.secrets = updated


def _bump_activity(sup: Supervision, now: float) -> None:
    """Over the log cap, lines still count as activity; tell the database now and then."""
    if sup.dropped and now - sup.last_bump >= ACTIVITY_BUMP_SECONDS:
        sup.last_bump = now
        Job.objects.filter(pk=sup.job.pk).update(last_activity_at=timezone.now())


def supervise(sup: Supervision) -> tuple[Result, LogReader]:
    """Follow the container until it exits or must be stopped; returns why, and the reader
    (still draining when the container must be stopped)."""
    reader = LogReader(sup.client, sup.container.id)
    reader.start()
    last_check = 0.0
    while True:
        ended = drain(sup, reader, wait=POLL_SECONDS)
        now = time.monotonic()
        if ended:
            running, code = containers.state(sup.container)
            if not running:
                if code is None:
                    return Result(Verdict.LOST, reason="the container disappeared"), reader
                return Result(Verdict.EXITED, exit_code=code), reader
            # The stream broke while the agent runs: follow again from now on.
            time.sleep(POLL_SECONDS)
            reader = LogReader(sup.client, sup.container.id, since=int(time.time()))
            reader.start()
        if now - last_check >= CHECK_SECONDS:
            last_check = now
            verdict = _check(sup, now)
            if verdict is not None:
                return verdict, reader
            _maybe_refresh(sup, now)
            _bump_activity(sup, now)


def finish_logs(sup: Supervision, reader: LogReader, *, wait: float = 3.0) -> None:
    """After the container stopped: write what is left of its output, then let the reader go."""
    deadline = time.monotonic() + wait
    while not reader.drained and time.monotonic() < deadline:
        drain(sup, reader, wait=0.2)
    reader.stopping.set()
