"""What the chaos run left behind, read straight from its PostgreSQL and Docker engine."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass

import psycopg

from jobs.runner import hardening

FINAL = {"DONE", "CANCELED", "ERRORED"}


@dataclass
class Census:
    deliveries: dict[str, tuple[int, str]]  # idempotency key -> (id, state)
    outcomes: dict[int, list[tuple[str, int | None]]]  # delivery id -> [(resolution, job id)]
    jobs: dict[int, tuple[str, str, int | None, str]]  # id -> (status, outcome, delivery, uid)
    containers: list[str]  # names of this run's job containers still present

    @classmethod
    def take(cls, dsn: str, docker, scope: str) -> Census:
        with psycopg.connect(dsn) as conn:
            deliveries = {
                key: (pk, state)
                for pk, key, state in conn.execute(
                    "SELECT id, idempotency_key, state FROM jobs_delivery"
                )
            }
            outcomes: dict[int, list[tuple[str, int | None]]] = {}
            for delivery_id, resolution, job_id in conn.execute(
                "SELECT delivery_id, resolution, job_id FROM jobs_deliveryevent"
            ):
                outcomes.setdefault(delivery_id, []).append((resolution, job_id))
            jobs = {
                pk: (status, outcome, delivery_id, str(uid))
                for pk, status, outcome, delivery_id, uid in conn.execute(
                    "SELECT id, status, outcome, delivery_id, uid FROM jobs_job"
                )
            }
        found = docker.containers.list(
            all=True, filters={"label": [hardening.LABEL_JOB, f"{hardening.LABEL_SCOPE}={scope}"]}
        )
        return cls(deliveries, outcomes, jobs, [c.name for c in found])

    def settled(self, accepted_keys: list[str]) -> bool:
        """Every accepted delivery processed, every job final, no job container left."""
        processed = all(
            self.deliveries.get(key, (0, ""))[1] == "processed" for key in accepted_keys
        )
        return (
            processed
            and all(job[0] in FINAL for job in self.jobs.values())
            and not (self.containers)
        )

    def summary(self) -> dict[str, int]:
        resolutions = Counter(r for rows in self.outcomes.values() for r, _ in rows)
        statuses = Counter(f"{job[0]}/{job[1] or '-'}" for job in self.jobs.values())
        return {
            "delivery rows": len(self.deliveries),
            "processed": sum(state == "processed" for _, state in self.deliveries.values()),
            **{f"resolution {k}": v for k, v in sorted(resolutions.items())},
            "jobs": len(self.jobs),
            **{f"job {k}": v for k, v in sorted(statuses.items())},
            "containers left": len(self.containers),
        }


class ContainerWatch:
    """Counts, live, the containers the engine creates for each job of this run (``mate.job``
    label). Live, because the engine keeps only its last few hundred events for later asking."""

    def __init__(self, scope: str) -> None:
        import docker

        self.created: Counter = Counter()
        self.error: str | None = None
        self._closing = False
        # A client of its own without a read timeout: minutes may pass between two events.
        self._client = docker.from_env(version="auto", timeout=None)
        self._stream = self._client.events(
            decode=True,
            filters={
                "type": "container",
                "event": "create",
                "label": f"{hardening.LABEL_SCOPE}={scope}",
            },
        )
        self._thread = threading.Thread(target=self._count, name="chaos-docker-events", daemon=True)
        self._thread.start()

    def _count(self) -> None:
        try:
            for event in self._stream:
                labels = (event.get("Actor") or {}).get("Attributes") or {}
                if hardening.LABEL_JOB in labels:  # not the runtime volume's filler
                    self.created[labels[hardening.LABEL_JOB]] += 1
        except Exception as exc:
            if not self._closing:
                self.error = f"{type(exc).__name__}: {exc}"

    def stop(self) -> Counter:
        time.sleep(1)  # events of the last moments are still on their way
        self._closing = True
        self._stream.close()
        self._thread.join(timeout=10)
        self._client.close()
        assert self.error is None, f"the Docker event stream broke: {self.error}"
        return self.created
