"""T15: a job that fills its tmpfs, eats memory, burns CPU and forks without end is held by its
container's limits, and Mate's web keeps answering meanwhile.

A real job (the runner's tiny busybox image, started by ``lifecycle.run_job`` with the one
hardening template) fills /tmp past its tmpfs size, runs a process past the memory limit, then
four busy loops and two fork bombs. While it runs, the test sends a steady series of requests
from outside to a live Mate (``/healthz``, the tenant's job list signed in, a webhook delivery)
and samples the container's cgroup counters through the Docker API. Every request must get its
normal answer within the client timeout (a failure bound, not a benchmark); the fill must stop
at the tmpfs size and the hog be killed (137); the pids count must reach the cap and never pass
it, memory never the plan's limit. Once the bombs have been held at the cap for a while the test
cancels the job; it ends CANCELED and no container is left. Latency figures are printed only.
"""

from __future__ import annotations

import json
import statistics
import threading
import time
import uuid

import pytest
import requests
from django.conf import settings as django_settings
from django.test import Client

from jobs.models import JobStatus, Outcome
from jobs.runner import hardening
from jobs.services import lifecycle
from tests.e2e.stack import MateServer
from tests.runner.helpers import log_lines
from tests.tenants.factories import MembershipFactory

pytestmark = [pytest.mark.docker, pytest.mark.django_db(transaction=True), pytest.mark.slow]

CLIENT_TIMEOUT = 5.0  # seconds: an answer slower than this fails the test
JOB_TIMEOUT = 180  # a failure bound: the test cancels the job once the bombs hit the cap
TMP_BYTES = 512 * 1024 * 1024  # the /tmp tmpfs size of the hardening template
# In turn: fill /tmp past its tmpfs size; a process that needs more memory than is left under the
# memory limit (the filled tmpfs counts against it); four busy loops (the plan gives one CPU); fork
# bombs: two awk loops starting sleepers without end (awk, unlike a shell, survives a failed fork,
# so they press on the cap for as long as the job runs) and the classic shell one.
HOSTILE = """
/bin/busybox dd if=/dev/zero of=/tmp/fill bs=1M count=1024 2>/dev/null
echo "tmpfs fill ended with $? at $(/bin/busybox wc -c < /tmp/fill) bytes"
/bin/busybox dd if=/dev/zero of=/dev/null bs=1900M count=1 2>/dev/null
echo "memory hog ended with $?"
for i in 1 2 3 4; do (while :; do :; done) & done
for i in 1 2; do
  /bin/busybox awk 'BEGIN { while (1) system("sleep 30 &") }' >/dev/null 2>&1 &
done
echo "fork bombs started"
b() { b | b & }
b 2>/dev/null
wait
"""
AT_CAP_ROUNDS = 15  # request rounds made once the pids reached the cap, before the cancel


def _sample(client, name: str) -> dict | None:
    """One reading of the job container's cgroup counters, or None when it is not running."""
    try:
        stats = client.api.stats(name, stream=False, one_shot=True)
    except Exception:
        return None
    pids = (stats.get("pids_stats") or {}).get("current")
    if not pids:
        return None
    memory = stats.get("memory_stats") or {}
    return {
        "pids": pids,
        "pids_limit": (stats.get("pids_stats") or {}).get("limit"),
        "memory": memory.get("usage"),
        "memory_max": memory.get("max_usage"),
        "memory_limit": memory.get("limit"),
        "memory_failcnt": memory.get("failcnt"),
        "throttled": ((stats.get("cpu_stats") or {}).get("throttling_data") or {}).get(
            "throttled_periods"
        ),
    }


class WebProbe:
    """Requests to the live Mate in turn; each answer checked, each latency kept."""

    def __init__(self, base: str, tenant, session_cookie: str, webhook_secret: str) -> None:
        self.base, self.tenant = base, tenant
        self.session = requests.Session()
        self.session.cookies.set(django_settings.SESSION_COOKIE_NAME, session_cookie)
        self.secret = webhook_secret
        self.latency: dict[str, list[float]] = {"healthz": [], "console": [], "webhook": []}
        self.failures: list[str] = []
        self.delivered: list[str] = []

    def _timed(self, kind: str, call, check) -> None:
        started = time.monotonic()
        try:
            response = call()
        except requests.RequestException as exc:  # a client timeout included
            self.failures.append(
                f"{kind}: {type(exc).__name__} after {time.monotonic() - started:.1f} s"
            )
            return
        self.latency[kind].append(time.monotonic() - started)
        problem = check(response)
        if problem:
            self.failures.append(f"{kind}: {problem}")

    def healthz(self) -> None:
        def check(r):
            if r.status_code != 200 or r.json().get("status") != "ok":
                return f"{r.status_code} {r.text[:200]}"

        self._timed(
            "healthz",
            lambda: self.session.get(f"{self.base}/healthz", timeout=CLIENT_TIMEOUT),
            check,
        )

    def console(self, job) -> None:
        def check(r):
            if r.status_code != 200 or r.url != url or str(job.uid) not in r.text:
                return (
                    f"{r.status_code} at {r.url} (job {job.uid} listed: {str(job.uid) in r.text})"
                )

        url = f"{self.base}/t/{self.tenant.uid}/jobs/"
        self._timed("console", lambda: self.session.get(url, timeout=CLIENT_TIMEOUT), check)

    def webhook(self) -> None:
        key = f"t15-{uuid.uuid4()}"
        body = {"object_kind": "push", "project": {"id": 424242}}

        def check(r):
            if r.status_code != 200 or r.json().get("duplicate") is not False:
                return f"{r.status_code} {r.text[:200]}"
            self.delivered.append(key)

        self._timed(
            "webhook",
            lambda: requests.post(
                f"{self.base}/hook/{self.tenant.uid}",
                data=json.dumps(body),
                headers={
                    "Content-Type": "application/json",
                    "X-Gitlab-Token": self.secret,
                    "X-Gitlab-Event": "Push Hook",
                    "Idempotency-Key": key,
                },
                timeout=CLIENT_TIMEOUT,
            ),
            check,
        )

    def report(self) -> str:
        parts = []
        for kind, values in self.latency.items():
            if values:
                parts.append(
                    f"{kind}: n={len(values)} median={statistics.median(values) * 1000:.0f} ms "
                    f"max={max(values) * 1000:.0f} ms"
                )
        return "; ".join(parts)


@pytest.fixture
def mate_web():
    server = MateServer("127.0.0.1").start()
    yield server
    server.stop()


def test_fork_bomb_and_hogs_are_capped_while_the_web_stays_responsive(
    runner_world, mate_web, docker_client, monkeypatch
):
    queued: list[int] = []
    monkeypatch.setattr("jobs.tasks.process_delivery.delay", queued.append)
    tenant = runner_world.tenant
    member = MembershipFactory(tenant=tenant).user
    signed_in = Client()
    signed_in.force_login(member)
    cookie = signed_in.cookies[django_settings.SESSION_COOKIE_NAME].value
    secret = tenant.reveal_secret("webhook_secret")
    probe = WebProbe(mate_web.url, tenant, cookie, secret)
    job = runner_world.job(HOSTILE, timeout=JOB_TIMEOUT)
    name = hardening.container_name(job.uid)

    # The same series before the job: the web works, and this is the baseline.
    for _ in range(3):
        probe.healthz(), probe.console(job), probe.webhook()
    baseline = probe.report()
    assert not probe.failures, probe.failures

    worker = threading.Thread(target=_run_job, args=(job.pk,), daemon=True)
    worker.start()
    samples: list[dict] = []
    during = WebProbe(mate_web.url, tenant, cookie, secret)
    turn, reached_cap, rounds_at_cap, canceled = 0, False, 0, False
    while worker.is_alive():
        sample = _sample(docker_client, name)
        if sample:
            samples.append(sample)
        # Requests in turn for as long as the container lives (and a little after).
        if samples:
            (during.healthz, lambda: during.console(job), during.webhook)[turn % 3]()
            turn += 1
        if sample and sample["pids"] >= hardening.PIDS_LIMIT - 16:
            reached_cap = True
        if reached_cap:
            rounds_at_cap += 1
        if rounds_at_cap >= AT_CAP_ROUNDS and not canceled:
            canceled = lifecycle.cancel_job(job, "T15: the bombs were held long enough")
        time.sleep(0.2)
    worker.join(timeout=5)

    print(f"\nbefore the job: {baseline}\nduring the job: {during.report()}")
    peak = {
        k: max((s[k] or 0) for s in samples)
        for k in ("pids", "memory", "memory_max", "memory_failcnt", "throttled")
    }
    print(f"container samples: {len(samples)}; peak: {peak}")
    lines = log_lines(job)
    print(f"job output: {lines}")

    # Every request got its normal answer in time, during the whole attack.
    assert not during.failures, during.failures
    assert min(len(v) for v in during.latency.values()) >= AT_CAP_ROUNDS // 3, during.report()
    # Each accepted delivery was stored and queued for processing.
    assert len(queued) == len(probe.delivered) + len(during.delivered)

    # The hostile work ran and each limit held it: the tmpfs size, the memory limit (the hog was
    # killed: 128 + SIGKILL), and the pids cap, which the bombs reached and never passed.
    assert f"tmpfs fill ended with 1 at {TMP_BYTES} bytes" in lines, lines
    assert "memory hog ended with 137" in lines, lines
    assert "fork bombs started" in lines, lines
    assert canceled, f"the pids never reached the cap: {peak}"
    assert all(s["pids_limit"] in (None, hardening.PIDS_LIMIT) for s in samples)
    assert peak["pids"] <= hardening.PIDS_LIMIT, peak
    memory_limit = hardening.resources_for(tenant.plan).memory_bytes
    for s in samples:
        assert s["memory_limit"] in (None, memory_limit) and (s["memory"] or 0) <= memory_limit

    # The cancel stopped it (SIGTERM, then SIGKILL for what ignores it) and nothing is left.
    job.refresh_from_db()
    assert (job.status, job.outcome) == (JobStatus.CANCELED, Outcome.CANCELED)
    left = docker_client.containers.list(
        all=True, filters={"label": f"{hardening.LABEL_JOB}={job.uid}"}
    )
    assert left == []


def _run_job(job_id: int) -> None:
    from django.db import connection

    try:
        lifecycle.run_job(job_id)
    finally:
        connection.close()
