"""The chaos run (issue "reliability proof"; THREATS T27, T30): a paced stream of valid GitLab
webhooks while the Celery worker is killed with SIGKILL and restarted, Redis is restarted
without persistence (the broker's queues are lost) and PostgreSQL is restarted. Afterwards:

* no valid delivery was ever answered 4xx, and none waited more than 5 s for its answer;
* every delivery answered 2xx has exactly one delivery row and exactly one resolution;
* every mention was dispatched, and every dispatched event has exactly one job, all final;
* no job container is left, and no job ever had a second container.

The counts are printed (``-s`` shows them; pytest prints them on failure too).
"""

from __future__ import annotations

import json
import signal
import time
from collections import Counter

import pytest

from tests.chaos.census import Census, ContainerWatch
from tests.chaos.services import wait_until
from tests.chaos.traffic import SLOW_ANSWER_SECONDS, Traffic

pytestmark = [pytest.mark.chaos, pytest.mark.docker, pytest.mark.timeout(900)]

RATE = 4.0  # webhooks per second
SECONDS = 75.0
MENTION_EVERY = 6
SETTLE_SECONDS = 240


def _kill_worker(world) -> None:
    world.worker.kill(signal.SIGKILL)


def _restart_worker(world) -> None:
    world.worker.start()


def _stop_redis(world) -> None:
    world.redis.stop()


def _start_redis(world) -> None:
    world.redis.start()


def _stop_postgres(world) -> None:
    world.postgres.stop("fast")


def _start_postgres(world) -> None:
    world.postgres.start()


# (seconds after the first webhook, what happens)
SCHEDULE = [
    (10.0, "SIGKILL the Celery worker (main process and pool)", _kill_worker),
    (14.0, "start a new worker", _restart_worker),
    (28.0, "stop Redis (it keeps nothing: queues, cache and counters are gone)", _stop_redis),
    (32.0, "start Redis, empty", _start_redis),
    (46.0, "stop PostgreSQL (fast: every session ends)", _stop_postgres),
    (50.0, "start PostgreSQL", _start_postgres),
    (60.0, "SIGKILL the worker again, mid-job", _kill_worker),
    (62.0, "start a new worker", _restart_worker),
]


def _run_schedule(world, traffic: Traffic) -> list[str]:
    done = []
    for at, what, action in SCHEDULE:
        time.sleep(max(0.0, traffic.started_at + at - time.monotonic()))
        action(world)
        done.append(f"t={time.monotonic() - traffic.started_at:5.1f}s {what}")
    return done


def _print_counts(title: str, counts: dict) -> None:
    print(f"\n{title}")
    for name, value in counts.items():
        print(f"  {name:<40} {value}")


def test_chaos_run_loses_nothing_and_duplicates_nothing(chaos_world):
    world = chaos_world
    traffic = Traffic(
        world.sim,
        world.project,
        world.human,
        world.issues,
        rate=RATE,
        seconds=SECONDS,
        mention_every=MENTION_EVERY,
    )
    watch = ContainerWatch(world.scope)
    traffic.start()
    timeline = _run_schedule(world, traffic)
    traffic.join()

    accepted = [s.key for s in traffic.sent if s.accepted]
    try:
        wait_until(
            lambda: Census.take(world.postgres.dsn(), world.docker, world.scope).settled(accepted),
            SETTLE_SECONDS,
            "every delivery processed, every job final, no container left",
            step=2,
        )
    except RuntimeError as exc:
        census = Census.take(world.postgres.dsn(), world.docker, world.scope)
        pytest.fail(f"{exc}\n{json.dumps(census.summary(), indent=1)}\n{world.logs()}")
    census = Census.take(world.postgres.dsn(), world.docker, world.scope)
    created = watch.stop()

    print("\nchaos timeline:\n  " + "\n  ".join(timeline))
    _print_counts("webhooks (as GitLab saw them):", traffic.summary())
    _print_counts("what Mate recorded:", census.summary())
    _print_counts(
        "containers per job:", {"jobs with a container": len(created), **_spread(created)}
    )

    sent = traffic.sent
    assert len(sent) == traffic.planned()
    refused = [(s.index, [a.status for a in s.attempts]) for s in sent if s.got_4xx]
    assert not refused, f"valid deliveries answered 4xx: {refused}"
    slow = [
        (s.index, round(a.seconds, 2))
        for s in sent
        for a in s.attempts
        if a.seconds > SLOW_ANSWER_SECONDS
    ]
    assert not slow, f"answers slower than {SLOW_ANSWER_SECONDS:g} s: {slow}"
    unanswered = [(s.index, s.attempts) for s in sent if not s.accepted]
    assert not unanswered, f"deliveries never accepted despite retries: {unanswered}"

    # Exactly one delivery row and one resolution per accepted delivery; nothing unknown stored.
    assert sorted(census.deliveries) == sorted(accepted)
    for s in sent:
        delivery_id, state = census.deliveries[s.key]
        resolutions = census.outcomes.get(delivery_id, [])
        assert state == "processed", (s.index, state)
        assert len(resolutions) == 1, (s.index, s.kind, resolutions)
        (resolution, job_id) = resolutions[0]
        if s.kind == "mention":
            assert resolution == "dispatched" and job_id is not None, (s.index, resolutions)
            assert census.jobs[job_id][2] == delivery_id
        else:
            assert resolution != "dispatched" and job_id is None, (s.index, resolutions)

    # One job per dispatched event: as many jobs as mentions, each named by one resolution.
    dispatched = [job for rows in census.outcomes.values() for r, job in rows if r == "dispatched"]
    assert len(dispatched) == len(set(dispatched)) == len(census.jobs)
    assert len(census.jobs) == sum(s.kind == "mention" for s in sent)
    assert all(job[0] in {"DONE", "CANCELED", "ERRORED"} for job in census.jobs.values())

    # Containers: none left; none for an unknown job; never two for one job.
    assert census.containers == []
    uids = {job[3] for job in census.jobs.values()}
    assert set(created) <= uids, set(created) - uids
    assert max(created.values(), default=0) <= 1, created.most_common(3)
    assert created, "no job container was started at all: the run proved nothing"


def _spread(created: Counter) -> dict[str, int]:
    counts = Counter(created.values())
    return {f"jobs with {n} container(s)": c for n, c in sorted(counts.items())}
