"""A paced stream of GitLab Note Hooks, sent by the GitLab simulator's own dispatcher (GitLab's
headers and payloads), retried the way an operator's "Resend request" would: a delivery that
got no answer or a 5xx is sent again, byte for byte with the same Idempotency-Key, until it is
answered 2xx or its retry budget is spent. A 4xx is never retried: it is the failure the run
looks for (GitLab counts it against the hook and eventually disables it).
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from tests.gitlab_sim import GitLabSim
from tests.gitlab_sim.operations import add_note

MENTION_TEXT = "@mate-bot please look into this [test-agent:sleep:2]"
CHATTER_TEXT = "Same here, it happens every Tuesday."
SLOW_ANSWER_SECONDS = 5.0  # THREATS T30: no answer slower than this


@dataclass
class Attempt:
    status: int | None
    seconds: float
    error: str | None


@dataclass
class Sent:
    """One delivery as GitLab would see it: every attempt and how it ended."""

    index: int
    kind: str  # "mention" (must dispatch a job) or "chatter" (must not)
    key: str
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return any(a.status is not None and 200 <= a.status < 300 for a in self.attempts)

    @property
    def got_4xx(self) -> bool:
        return any(a.status is not None and 400 <= a.status < 500 for a in self.attempts)


class Traffic:
    """Sends ``rate`` deliveries a second for ``seconds``; every ``mention_every``-th one is a
    mention of the bot on an issue of its own (one job each), the rest plain comments."""

    def __init__(self, sim: GitLabSim, project, author, issues: list[int], **pace) -> None:
        self.sim, self.project, self.author, self.issues = sim, project, author, issues
        self.rate = pace.get("rate", 4.0)
        self.seconds = pace.get("seconds", 60.0)
        self.mention_every = pace.get("mention_every", 6)
        self.retry_for = pace.get("retry_for", 45.0)
        self.sent: list[Sent] = []
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="chaos-send")
        self.started_at = 0.0

    def planned(self) -> int:
        return int(self.rate * self.seconds)

    def start(self) -> Traffic:
        self.started_at = time.monotonic()
        self._thread = threading.Thread(target=self._pace, name="chaos-pace", daemon=True)
        self._thread.start()
        return self

    def join(self) -> None:
        assert self._thread is not None
        self._thread.join()
        self._pool.shutdown(wait=True)

    def _pace(self) -> None:
        mentions = iter(self.issues)
        for index in range(self.planned()):
            due = self.started_at + index / self.rate
            time.sleep(max(0.0, due - time.monotonic()))
            if index % self.mention_every == 0:
                iid, kind, text = next(mentions), "mention", MENTION_TEXT
            else:
                iid, kind, text = self.issues[-1], "chatter", CHATTER_TEXT
            delivery = self._build(iid, text)
            record = Sent(index, kind, delivery.idempotency_key)
            with self._lock:
                self.sent.append(record)
            self._pool.submit(self._deliver, record, delivery)

    def _build(self, iid: int, text: str):
        sim = self.sim
        with sim.state.lock:
            project, issue = sim._issuable(self.project, "issue", iid)
            note = add_note(sim, project, issue, sim.state.require_user(self.author), text)
            (delivery,) = sim.note_event(project, issue, note)
        return delivery

    def _deliver(self, record: Sent, delivery) -> None:
        hook = self.project.hooks[0]
        deadline = time.monotonic() + self.retry_for
        while True:
            done = self.sim.dispatcher.send(delivery)
            record.attempts.append(Attempt(done.status, done.duration, done.error))
            if done.status is not None and done.status < 500:
                return  # 2xx: delivered; 4xx: refused for good, as GitLab would see it
            if time.monotonic() > deadline:
                return
            time.sleep(0.5)
            delivery = self.sim.dispatcher.build(
                hook, done.event, done.payload, done.event_uuid, done.idempotency_key
            )
            delivery.body = done.body

    def summary(self) -> dict[str, int | float]:
        attempts = [a for s in self.sent for a in s.attempts]
        by_class: dict[str, int] = {}
        for attempt in attempts:
            label = str(attempt.status) if attempt.status else "no answer"
            by_class[label] = by_class.get(label, 0) + 1
        return {
            "deliveries": len(self.sent),
            "mentions": sum(s.kind == "mention" for s in self.sent),
            "attempts": len(attempts),
            **{f"answers {k}": v for k, v in sorted(by_class.items())},
            "retried deliveries": sum(len(s.attempts) > 1 for s in self.sent),
            "accepted (2xx)": sum(s.accepted for s in self.sent),
            "slowest answer s": round(max((a.seconds for a in attempts), default=0.0), 3),
        }
