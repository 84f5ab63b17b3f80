"""Benchmark of dispatch: a GitLab webhook received by Mate until the job's container runs,
beside a bare ``docker run -d`` of the same image with the same hardening, in the same run
(DESIGN §6).

Run: ``.venv/bin/python bench/dispatch.py [--events 100] [--interval 0.75] [--json PATH]``

Needs PostgreSQL at 127.0.0.1:5432 (user root, trust, a database ``test`` to connect to for
CREATE/DROP DATABASE), Redis at 127.0.0.1:6379, a Docker engine and the image
``mate-test-agent:latest`` (``bash jobs/agent/build.sh``). What it does:

1. drops and recreates the database ``mate_bench_dispatch``, migrates it, flushes Redis db 15;
   everything runs with ``MATE_AGENT_IMAGE=mate-test-agent:latest`` (so the runtime volume, and
   with it the entrypoint, comes from the 4 MB test image: the stand-in agent, mode ``ok``) and
   ``MATE_CONTAINER_SCOPE=bench`` (so only this bench's containers and volume are touched);
2. starts the GitLab simulator in this process on 127.0.0.1 with a bot (PAT, Maintainer of a
   project), a person and a project webhook to Mate; creates the tenant with Mate's own services
   (``create_tenant``, ``register_bot``, ``save_config``: ``issue_assigned`` → an agent) and
   raises its ``mates`` and ``policies.concurrency`` so that jobs never queue;
3. starts Mate: gunicorn on loopback (``bench/ingest_wsgi.py``, i.e. ``mate.wsgi``) and a real
   Celery worker (``-Q default,jobs``) on Redis db 15. The worker is started through a small
   boot script that wraps a few runner functions with timers (written to a trace file), so the
   time between "webhook stored" and "container running" can be split into its steps;
4. baseline: ``--events`` times, on the same schedule (one every ``--interval`` s), ``docker run
   -d`` of the same image with the flags of Mate's hardening template (generated from
   ``jobs.runner.hardening.create_kwargs``: cap-drop ALL, no-new-privileges, user 1000:1000,
   read-only root, tmpfs, the runtime volume, network ``mate-jobs``, limits), timed from the
   command's start until ``docker inspect`` shows it Running; each container is then removed;
5. Mate: ``--events`` times, on the same schedule, a new issue is assigned to the bot; the
   simulator sends the Issue Hook. Measured from the delivery's ``received_at`` (stored by the
   webhook) to the job's ``started_at``, which the runner writes when it moves the job to
   RUNNING right after Docker started the container. Jobs end on their own (the stand-in agent
   exits 0 at once);
6. prints p50/p95/max of both and their difference, the split of Mate's time, a Markdown table
   and the figures as JSON on the last line (and into ``--json PATH``);
7. always cancels unfinished jobs, stops the worker and gunicorn, removes every container and
   volume labelled ``mate.scope=bench``, drops the database, flushes Redis db 15 and removes the
   temp dir, also on Ctrl-C.

Limits: the job containers cannot reach the simulator (it listens on loopback, so the agent's
clone URL is unreachable from the bridge) nor the tool service (``MATE_TOOL_BASE_URL`` points at
a closed port on the bridge gateway); neither matters for time-to-running, and the stand-in
agent does not clone. ``MATE_TOOL_BASE_URL`` being set skips the runner's network look-up,
which a default installation does on every launch (one Docker API call). GitLab is the
simulator, in this process: its answers (Python, git subprocesses, kept-alive connections that
meet delayed ACKs) are slower than a real GitLab nearby may be, so the split shows the time spent
in HTTP calls to it, and the headline is also given without it. The machine's CPUs are shared
by everything here (and by whatever else runs on it: see the busy-cores lines).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import common
import ingest
from common import CpuMeter, Interrupted, Process, markdown_table, summary

DB_NAME = "mate_bench_dispatch"
SCOPE = "bench"
IMAGE = "mate-test-agent:latest"
BASELINE_LABEL = "mate.bench"  # marks the bare docker run containers (also scope "bench")
MODEL = "claude-sonnet-4-5"

TENANT_CONFIG = """\
version: 1
agents:
  bench:
    backend: claude-code
    model: {model}
    system_prompt: You look at GitLab issues through the mate tools.
    permissions: [read, comment]
    timeout: 5m
triggers:
  - on: issue_assigned
    agent: bench
policies:
  concurrency: {slots}
"""

# The Celery worker, with timers around the steps between "delivery stored" and "container
# running". Wrapping happens before the pool forks, so every child inherits it. Each record is
# one JSON line appended to BENCH_TRACE_FILE (a single write, atomic with O_APPEND).
WORKER_BOOT = r"""
import json, os, sys, threading, time
import django
django.setup()
from jobs.runner import containers, launch
from jobs.services import lifecycle, routing

TRACE = os.environ["BENCH_TRACE_FILE"]
current = threading.local()  # .key: ("job", id) or ("delivery", id) of the task in this thread

def record(kind, key, step, t0, t1):
    line = json.dumps({"kind": kind, "id": key, "step": step, "t0": t0, "t1": t1}) + "\n"
    fd = os.open(TRACE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)

def step(module, name, label):
    original = getattr(module, name)
    def timed(*args, **kwargs):
        t0 = time.time()
        try:
            return original(*args, **kwargs)
        finally:
            key = getattr(current, "key", None)
            if key is not None:
                record(key[0], key[1], label, t0, time.time())
    setattr(module, name, timed)

def entry(module, name, kind):
    original = getattr(module, name)
    def timed(key, *args, **kwargs):
        t0 = time.time()
        current.key = (kind, key)
        record(kind, key, "pickup", t0, t0)
        try:
            return original(key, *args, **kwargs)
        finally:
            current.key = None
            record(kind, key, "task", t0, time.time())
    setattr(module, name, timed)

# HTTP requests to GitLab: python-gitlab and Mate's own reads use requests, and so does the
# Docker SDK (http+docker:// URLs), which is left out here.
import requests.sessions
plain_send = requests.sessions.Session.send
step(requests.sessions.Session, "send", "gitlab_http")
timed_send = requests.sessions.Session.send

def send(self, request, **kwargs):
    if request.url.startswith("http+docker:"):
        return plain_send(self, request, **kwargs)
    return timed_send(self, request, **kwargs)

requests.sessions.Session.send = send
entry(routing, "process_delivery", "delivery")
entry(lifecycle, "run_job", "job")
step(lifecycle, "_claim", "claim")
step(launch, "_mint", "credentials")
step(launch, "token_values", "token_values")
step(launch, "_choose_image", "image")
step(containers, "ensure_runtime_volume", "runtime_volume")
step(containers, "tool_base_url", "tool_base_url")
step(launch, "build_env", "build_env")
step(containers, "engine_cpus", "engine_cpus")
step(containers, "create", "create")
step(containers, "start", "start")

from mate.celery import app
app.worker_main(sys.argv[1:])
"""

# Steps of "job created → RUNNING", in the order they happen (see jobs/runner/launch.py).
STEPS = [
    ("queue_jobs", "jobs queue: created → task picked up"),
    ("claim", "claim the job (UPDATE)"),
    ("credentials", "credentials: job token, per-job key, clone token (GitLab)"),
    ("token_values", "decrypt tokens for redaction"),
    ("image", "choose the image (devcontainer reads, GitLab)"),
    ("runtime_volume", "runtime volume check (Docker)"),
    ("tool_base_url", "tool service URL"),
    ("build_env", "container environment"),
    ("engine_cpus", "engine CPUs (docker info)"),
    ("create", "docker create"),
    ("start", "docker start"),
    ("other", "rest: DB writes, events, RUNNING transition"),
]


# --- Baseline: bare docker run -----------------------------------------------------------------


def docker_run_args(kwargs: dict) -> list[str]:
    """``docker run -d`` flags equal to the runner's ``containers.create(**kwargs)``. An unknown
    key fails loudly, so the baseline cannot silently drift from the hardening template."""
    args = ["docker", "run", "-d"]
    for key, value in kwargs.items():
        if key == "name":
            args += ["--name", value]
        elif key == "image":
            continue  # last, before the (absent) command
        elif key == "entrypoint":
            (entrypoint,) = value
            args += ["--entrypoint", entrypoint]
        elif key == "environment":
            for name, text in value.items():
                args += ["-e", f"{name}={text}"]
        elif key == "labels":
            for name, text in value.items():
                args += ["--label", f"{name}={text}"]
        elif key == "user":
            args += ["--user", value]
        elif key == "working_dir":
            args += ["--workdir", value]
        elif key in ("privileged", "init", "stdin_open", "tty"):
            if value:
                raise ValueError(f"baseline: {key}={value!r} has no flag here")
        elif key == "cap_drop":
            for cap in value:
                args += ["--cap-drop", cap]
        elif key == "security_opt":
            for opt in value:
                args += ["--security-opt", opt]
        elif key == "read_only":
            args += ["--read-only"] if value else []
        elif key == "tmpfs":
            for path, opts in value.items():
                args += ["--tmpfs", f"{path}:{opts}"]
        elif key == "volumes":
            for source, bind in value.items():
                args += ["-v", f"{source}:{bind['bind']}:{bind['mode']}"]
        elif key == "network":
            args += ["--network", value]
        elif key == "ipc_mode":
            args += ["--ipc", value]
        elif key == "pids_limit":
            args += ["--pids-limit", str(value)]
        elif key == "mem_limit":
            args += ["--memory", str(value)]
        elif key == "memswap_limit":
            args += ["--memory-swap", str(value)]
        elif key == "nano_cpus":
            args += ["--cpus", f"{value / 1e9:g}"]
        elif key == "log_config":
            args += ["--log-driver", value["type"]]
            for name, text in value.get("config", {}).items():
                args += ["--log-opt", f"{name}={text}"]
        else:
            raise ValueError(f"baseline: the hardening template has a new key {key!r}; map it")
    return [*args, kwargs["image"]]


def baseline_kwargs(runtime_volume: str, engine_cpus: float | None) -> dict:
    from jobs.runner import hardening
    from tenants.models import Plan

    uid = uuid.uuid4()
    labels = hardening.labels(job_uid=uid, tenant_uid="baseline", scope=SCOPE)
    labels[BASELINE_LABEL] = "baseline"
    return hardening.create_kwargs(
        name=f"mate-bench-baseline-{uid.hex[:12]}",
        image=IMAGE,
        # "silent": sleeps until removed, so that inspect can see it running.
        environment={"TEST_AGENT_MODE": "silent", "HOME": hardening.HOME},
        labels=labels,
        plan=Plan.STARTER,
        runtime_volume=runtime_volume,
        engine_cpus=engine_cpus,
    )


def docker_cli(args: list[str], timeout: float = 60) -> str:
    done = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:3])} failed: {done.stderr.strip()[:300]}")
    return done.stdout.strip()


def baseline_once(runtime_volume: str, engine_cpus: float | None) -> dict:
    args = docker_run_args(baseline_kwargs(runtime_volume, engine_cpus))
    started = time.perf_counter()
    container = docker_cli(args)
    returned = time.perf_counter()
    inspections = 0
    try:
        while True:
            inspections += 1
            state = docker_cli(["docker", "inspect", "-f", "{{.State.Running}}", container])
            if state == "true":
                break
            if time.perf_counter() - started > 30:
                raise RuntimeError(f"container {container[:12]} not running after 30 s")
            time.sleep(0.005)
        running = time.perf_counter()
    finally:
        subprocess.run(["docker", "rm", "-f", container], capture_output=True, timeout=60)
    return {
        "run_ms": (returned - started) * 1000,
        "running_ms": (running - started) * 1000,
        "inspections": inspections,
    }


# --- Pacing ------------------------------------------------------------------------------------

_in_flight: list[threading.Thread] = []  # every action thread, for the clean-up to wait on


def wait_in_flight(timeout: float = 60) -> None:
    """Let running actions end (a docker run or webhook still under way would otherwise leave a
    container or a job behind the clean-up)."""
    deadline = time.monotonic() + timeout
    for thread in _in_flight:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))


def paced(count: int, interval: float, action: Callable[[int], dict]) -> tuple[list[dict], int]:
    """``action(i)`` for i in range(count), each in its own thread at its due time (open loop);
    returns the results in order (an exception becomes {"error": ...}) and how often the pacer
    was late by more than 10 ms."""
    results: list[dict] = [{} for _ in range(count)]
    threads = []
    late = 0

    def run(index: int) -> None:
        try:
            results[index] = action(index)
        except Exception as exc:
            results[index] = {"error": f"{type(exc).__name__}: {exc}"[:300]}

    start = time.perf_counter() + 0.05
    for index in range(count):
        pause = start + index * interval - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        elif pause < -0.01:
            late += 1
        thread = threading.Thread(target=run, args=(index,), daemon=True)
        thread.start()
        threads.append(thread)
        _in_flight.append(thread)
    for thread in threads:
        thread.join(timeout=120)
    return results, late


# --- The world ---------------------------------------------------------------------------------


class World:
    """GitLab simulator, tenant, gunicorn and the Celery worker."""

    def __init__(self, env: dict[str, str], var_dir: Path, slots: int) -> None:
        self.env, self.var_dir, self.slots = env, var_dir, slots
        self.sim = None
        self.tenant = None
        self.server: ingest.Server | None = None
        self.worker: Process | None = None
        self.trace = var_dir / "trace.jsonl"
        self.issues = 0

    def seed(self) -> None:
        from django.contrib.auth import get_user_model

        from tenants import services
        from tenants.models import Tenant
        from tests.gitlab_sim import MAINTAINER, GitLabSim

        self.sim = sim = GitLabSim().start()
        sim.deliver_api_events = False  # only the assignments below send webhooks
        bot = sim.add_user("mate-bot", "Mate Bot")
        self.human = sim.add_user("dana", "Dana Whitfield")
        pat = sim.add_pat(bot, scopes=["api"], name="mate")
        self.project = sim.add_project(
            "acme/widgets", members={bot: MAINTAINER, self.human: MAINTAINER}
        )
        owner = get_user_model().objects.create_user(username="bench-owner", password=None)
        tenant, secret = services.create_tenant(user=owner, name="Bench", gitlab_url=sim.url)
        services.register_bot(tenant=tenant, token=pat)
        text = TENANT_CONFIG.format(model=MODEL, slots=self.slots)
        services.save_config(tenant=tenant, text=text, author=owner)
        Tenant.objects.filter(pk=tenant.pk).update(mates=self.slots)
        tenant.refresh_from_db()
        self.tenant, self.secret = tenant, secret

    def start_mate(self, workers: int, concurrency: int) -> None:
        self.server = ingest.Server(self.env, self.var_dir / "gunicorn.log", workers, 4)
        self.server.start()
        self.sim.add_hook(
            self.project,
            f"http://{ingest.HOST}:{self.server.port}/hook/{self.tenant.uid}",
            token=self.secret,
            events=["issues"],
        )
        env = {**self.env, "BENCH_TRACE_FILE": str(self.trace)}
        args = [
            sys.executable, "-c", WORKER_BOOT,
            "worker", "-Q", "default,jobs", "-c", str(concurrency), "-P", "prefork",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
            "-l", "INFO", "-n", f"bench-dispatch-{secrets.token_hex(3)}@%h",
        ]  # fmt: skip
        self.worker = Process("celery worker", args, env, self.var_dir / "worker.log").start()
        self.worker.wait_for_log("ready.", timeout=60)

    def new_issue(self) -> int:
        self.issues += 1
        issue = self.sim.add_issue(
            self.project, f"Bench issue {self.issues}", "Please have a look.", author=self.human
        )
        return issue.iid

    def assign(self, iid: int) -> dict:
        """The person assigns the issue to the bot; the simulator sends the Issue Hook."""
        emission = self.sim.assign_issue(self.project, iid, ["mate-bot"], by=self.human)
        if len(emission) != 1:
            raise RuntimeError(f"expected one webhook, the simulator sent {len(emission)}")
        sent = emission[0]
        if not sent.ok:
            raise RuntimeError(f"webhook failed: {sent.status} {sent.error or ''}")
        return {"key": sent.idempotency_key, "sent_at": sent.sent_at, "answer_s": sent.duration}


def wait_final(keys: list[str], timeout: float) -> tuple[list, bool]:
    """Wait until each delivery is processed and each of its jobs is final."""
    from jobs.models import FINAL_STATUSES, Delivery, Job

    deadline = time.monotonic() + timeout
    while True:
        deliveries = list(Delivery.objects.filter(idempotency_key__in=keys))
        processed = [d for d in deliveries if d.state == Delivery.State.PROCESSED]
        jobs = list(Job.objects.filter(delivery__in=processed))
        done = len(processed) == len(keys) and all(j.status in FINAL_STATUSES for j in jobs)
        if done or time.monotonic() > deadline:
            return jobs, done
        time.sleep(0.25)


def cancel_unfinished() -> int:
    from jobs.models import FINAL_STATUSES, Job
    from jobs.services.lifecycle import cancel_job

    canceled = 0
    for job in Job.objects.exclude(status__in=FINAL_STATUSES):
        canceled += bool(cancel_job(job, "benchmark clean-up"))
    return canceled


def remove_bench_docker() -> None:
    """Every container and volume of scope ``bench`` (jobs, baseline, runtime volume)."""
    from jobs.runner import containers, hardening

    client = containers.engine()
    label = f"{hardening.LABEL_SCOPE}={SCOPE}"
    for container in client.containers.list(all=True, filters={"label": label}):
        container.remove(force=True)
    for volume in client.volumes.list(filters={"label": label}):
        volume.remove(force=True)


# --- Analysis ----------------------------------------------------------------------------------


def read_trace(path: Path) -> dict[tuple[str, int], dict[str, float]]:
    """(kind, id) -> {"pickup": start time, "task": seconds, step: total seconds}; steps are
    counted up to the RUNNING transition only (``started_at``, given later), see ``analyse``."""
    found: dict[tuple[str, int], list[dict]] = defaultdict(list)
    if path.exists():
        for line in path.read_text().splitlines():
            rec = json.loads(line)
            found[(rec["kind"], rec["id"])].append(rec)
    return found


def steps_until(records: list[dict], until: float) -> dict[str, float]:
    """Seconds per step of the records that ended by ``until``; "pickup" is a time."""
    out: dict[str, float] = {}
    for rec in records:
        if rec["step"] == "pickup":
            out.setdefault("pickup", rec["t0"])
        elif rec["t1"] <= until + 1e-3:
            out[rec["step"]] = out.get(rec["step"], 0.0) + rec["t1"] - rec["t0"]
    return out


def analyse(sent: list[dict], trace: Path) -> dict:
    from jobs.models import Delivery, Job, JobEvent

    keys = [s["key"] for s in sent if "key" in s]
    deliveries = {d.idempotency_key: d for d in Delivery.objects.filter(idempotency_key__in=keys)}
    jobs = {j.delivery_id: j for j in Job.objects.filter(delivery__in=deliveries.values())}
    trace_records = read_trace(trace)
    rows, problems = [], []
    for item in sent:
        if "key" not in item:
            problems.append(item.get("error", "no webhook"))
            continue
        delivery = deliveries.get(item["key"])
        job = jobs.get(delivery.pk) if delivery else None
        if job is None or job.started_at is None:
            outcome = delivery.summary if delivery else "no delivery stored"
            problems.append(f"no running job for {item['key']}: {outcome}")
            continue
        started = job.started_at.timestamp()
        ms = lambda a, b: (b - a).total_seconds() * 1000  # noqa: E731
        row = {
            "received_to_running": ms(delivery.received_at, job.started_at),
            "sent_to_running": ms(item["sent_at"], job.started_at),
            "answer": item["answer_s"] * 1000,
            "received_to_created": ms(delivery.received_at, job.created_at),
            "created_to_running": ms(job.created_at, job.started_at),
            "status": f"{job.status}/{job.outcome}/{job.exit_code}",
            "window": (job.created_at, job.finished_at or job.started_at),
        }
        routed = steps_until(trace_records.get(("delivery", delivery.pk), []), float("inf"))
        if "pickup" in routed:
            row["queue_default"] = (routed["pickup"] - delivery.received_at.timestamp()) * 1000
            row["routing"] = routed["task"] * 1000
            row["routing_gitlab"] = routed.get("gitlab_http", 0.0) * 1000
        rec = steps_until(trace_records.get(("job", job.pk), []), started)
        if "pickup" in rec:
            row["queue_jobs"] = (rec["pickup"] - job.created_at.timestamp()) * 1000
            row["pickup_to_running"] = (started - rec["pickup"]) * 1000
            for name, _ in STEPS:
                if name in rec:
                    row[name] = rec[name] * 1000
            known = sum(row.get(name, 0.0) for name, _ in STEPS if name != "queue_jobs")
            row["other"] = row["pickup_to_running"] - known
            row["launch_gitlab"] = rec.get("gitlab_http", 0.0) * 1000
        if "routing_gitlab" in row and "launch_gitlab" in row:
            gitlab = row["routing_gitlab"] + row["launch_gitlab"]
            row["without_gitlab"] = row["received_to_running"] - gitlab
        rows.append(row)
    # How many jobs were alive (created .. finished) when each one was created.
    overlap = [
        sum(1 for other in rows if other["window"][0] <= r["window"][0] <= other["window"][1])
        for r in rows
    ]
    queued = JobEvent.objects.filter(
        job__in=jobs.values(), kind=JobEvent.Kind.STATUS, data__to="PENDING"
    ).count()
    statuses: dict[str, int] = defaultdict(int)
    for row in rows:
        statuses[row["status"]] += 1
    return {
        "rows": rows,
        "problems": problems,
        "overlap": overlap,
        "queued": queued,
        "statuses": dict(statuses),
    }


def fmt(value: float) -> str:
    return f"{value:,.1f}"


def report(mate: dict, base: list[dict], args, extra: dict) -> dict:
    rows = mate["rows"]
    col = lambda name: summary(r[name] for r in rows if name in r)  # noqa: E731
    headline = col("received_to_running")
    bare = summary(b["running_ms"] for b in base if "running_ms" in b)
    bare_run = summary(b["run_ms"] for b in base if "run_ms" in b)
    diff = {k: headline[k] - bare[k] for k in ("p50", "p95", "max", "mean")}

    print(f"\n{len(rows)} events, one every {args.interval:g} s (ms):\n")
    table = [
        ["Mate: webhook received → container running", headline],
        ["Mate: webhook sent by GitLab → container running", col("sent_to_running")],
        ["Mate: received → running, minus its HTTP calls to GitLab", col("without_gitlab")],
        ["bare `docker run -d` → `docker inspect` Running", bare],
        ["bare `docker run -d` alone (command returned)", bare_run],
    ]
    lines = [
        [name, s["n"], *(fmt(s[k]) for k in ("p50", "p95", "max", "mean"))] for name, s in table
    ]
    signed = [f"+{fmt(diff[k])}" if diff[k] >= 0 else fmt(diff[k]) for k in diff]
    lines.append(["**difference** Mate − bare (Running)", "", *signed])
    print(markdown_table(["path", "n", "p50", "p95", "max", "mean"], lines))
    split = [
        ("webhook answered (simulator's view: send → 200)", col("answer")),
        ("default queue: stored → routing task starts", col("queue_default")),
        ("routing: process_delivery (GitLab reads, gates, job row)", col("routing")),
        ("  of which HTTP calls to GitLab (simulator), routing", col("routing_gitlab")),
        ("stored → job row created", col("received_to_created")),
        ("job created → RUNNING", col("created_to_running")),
        *((f"  {label}", col(name)) for name, label in STEPS),
        ("  of which HTTP calls to GitLab (simulator), launch", col("launch_gitlab")),
    ]
    print("\nwhere Mate's time goes (ms; steps timed inside the worker):\n")
    lines = [
        [name, *(fmt(s[k]) for k in ("p50", "p95", "max", "mean"))] for name, s in split if s["n"]
    ]
    print(markdown_table(["step", "p50", "p95", "max", "mean"], lines))
    overlap = mate["overlap"]
    print(
        f"\njobs alive when a job was created: mean {sum(overlap) / max(1, len(overlap)):.1f}, "
        f"max {max(overlap, default=0)}; jobs that waited for a slot (PENDING): {mate['queued']}; "
        f"job endings: {mate['statuses']}"
    )
    for problem in mate["problems"][:10]:
        print(f"  problem: {problem}")
    baseline_errors = [b["error"] for b in base if "error" in b]
    for problem in baseline_errors[:5]:
        print(f"  baseline problem: {problem}")

    strip = lambda s: {k: round(v, 2) if isinstance(v, float) else v for k, v in s.items()}  # noqa: E731
    return {
        "benchmark": "dispatch",
        "events": args.events,
        "interval_s": args.interval,
        "cpus": os.cpu_count(),
        "image": IMAGE,
        "mate_received_to_running_ms": strip(headline),
        "mate_sent_to_running_ms": strip(col("sent_to_running")),
        "mate_without_gitlab_http_ms": strip(col("without_gitlab")),
        "bare_docker_run_to_running_ms": strip(bare),
        "bare_docker_run_returned_ms": strip(bare_run),
        "difference_ms": strip(diff),
        "split_ms": {label.strip(): strip(s) for label, s in split if s["n"]},
        "jobs_alive_at_creation": {
            "mean": round(sum(overlap) / max(1, len(overlap)), 2),
            "max": max(overlap, default=0),
        },
        "jobs_queued": mate["queued"],
        "job_endings": mate["statuses"],
        "problems": len(mate["problems"]),
        "baseline_errors": len(baseline_errors),
        **extra,
    }


# --- Main --------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100, help="measured events (and docker runs)")
    parser.add_argument("--interval", type=float, default=0.75, help="seconds between events")
    parser.add_argument("--warmup", type=int, default=6, help="unmeasured events first")
    parser.add_argument("--concurrency", type=int, default=6, help="Celery worker processes")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (4 threads)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    if shutil.which("docker") is None:
        print("the docker CLI is missing (the baseline runs it)", file=sys.stderr)
        return 2
    common.stop_on_signals()
    var_dir = Path(tempfile.mkdtemp(prefix="mate-bench-dispatch-"))
    env = common.bench_env(
        var_dir,
        DB_NAME,
        MATE_AGENT_IMAGE=IMAGE,
        MATE_CONTAINER_SCOPE=SCOPE,
        MATE_ALLOW_PRIVATE_GITLAB="1",
        MATE_OPENROUTER_MODELS_URL="",  # nothing leaves the machine
    )
    world = World(env, var_dir, slots=args.concurrency)
    django_ready = False
    try:
        print(f"setting up: database {DB_NAME}, Redis db 15, MATE_VAR_DIR={var_dir}", flush=True)
        ingest.flush_redis()
        common.recreate_database(DB_NAME)
        common.migrate(env)
        common.setup_django(env)
        django_ready = True
        from django.conf import settings

        from jobs.runner import containers

        client = containers.engine()
        containers.local_image(client, IMAGE, pull=False)
        gateway = containers.bridge_gateway(containers.ensure_network(client))
        # A closed port on the bridge gateway: the agent's tool calls are refused at once.
        env["MATE_TOOL_BASE_URL"] = settings.MATE_TOOL_BASE_URL = f"http://{gateway}:9"
        runtime_volume = containers.ensure_runtime_volume(client, IMAGE)
        engine_cpus = containers.engine_cpus(client)
        world.seed()
        world.start_mate(args.workers, args.concurrency)
        print(
            f"GitLab simulator {world.sim.url}; gunicorn 127.0.0.1:{world.server.port}; Celery "
            f"worker -c {args.concurrency}; tenant mates {args.concurrency}; image {IMAGE}; "
            f"tool URL {env['MATE_TOOL_BASE_URL']} (refused); {os.cpu_count()} CPUs",
            flush=True,
        )

        print(f"\nwarm-up: {args.warmup} events and 2 docker runs (not counted)", flush=True)
        warm_iids = [world.new_issue() for _ in range(args.warmup)]
        warm, _ = paced(args.warmup, args.interval, lambda i: world.assign(warm_iids[i]))
        _, done = wait_final([w["key"] for w in warm if "key" in w], timeout=60)
        if not done or any("error" in w for w in warm):
            raise RuntimeError(f"warm-up jobs did not finish: {warm}\n{world.worker.log_tail()}")
        paced(2, args.interval, lambda i: baseline_once(runtime_volume, engine_cpus))

        meter = CpuMeter(DB_NAME, lambda: [world.worker.proc.pid, world.server.proc.pid])
        cpu0 = meter.snapshot()
        print(
            f"baseline: {args.events} bare docker runs, one every {args.interval:g} s", flush=True
        )
        started = time.monotonic()
        base, base_late = paced(
            args.events, args.interval, lambda i: baseline_once(runtime_volume, engine_cpus)
        )
        base_seconds = time.monotonic() - started
        cpu1 = meter.snapshot()

        print(f"Mate: {args.events} webhooks, one every {args.interval:g} s", flush=True)
        iids = [world.new_issue() for _ in range(args.events)]
        requests_before = len(world.sim.requests)
        started = time.monotonic()
        sent, late = paced(args.events, args.interval, lambda i: world.assign(iids[i]))
        _, done = wait_final([s["key"] for s in sent if "key" in s], timeout=120)
        mate_seconds = time.monotonic() - started
        cpu2 = meter.snapshot()
        cores = {"baseline": meter.cores(cpu0, cpu1), "mate": meter.cores(cpu1, cpu2)}
        if not done:
            print("  some jobs did not finish within 120 s; they are canceled", flush=True)
        calls = world.sim.requests[requests_before:]
        gitlab_calls = len(calls)
        by_kind: dict[str, int] = defaultdict(int)
        for call in calls:
            by_kind[f"{call.method} {re.sub(r'/[0-9]+(?=/|$)', '/:id', call.path)}"] += 1
        mate = analyse(sent, world.trace)
        figures = report(
            mate,
            base,
            args,
            {
                "pacer_late": {"baseline": base_late, "mate": late},
                "phase_seconds": {
                    "baseline": round(base_seconds, 1),
                    "mate": round(mate_seconds, 1),
                },
                "gitlab_api_calls_per_event": round(gitlab_calls / max(1, args.events), 1),
                "gitlab_calls": dict(sorted(by_kind.items(), key=lambda kv: -kv[1])),
                "busy_cores": {
                    phase: {k: round(v, 2) for k, v in c.items()} for phase, c in cores.items()
                },
            },
        )
        print(
            f"GitLab simulator API calls per event (routing, credentials, image, revocation): "
            f"{figures['gitlab_api_calls_per_event']}"
        )
        for kind, count in figures["gitlab_calls"].items():
            print(f"  {count / max(1, args.events):4.1f} x {kind}")
        for phase, c in cores.items():
            print(
                f"busy cores during the {phase} phase: machine {c['machine']:.2f} = this bench's "
                f"Python and PostgreSQL {c['ours']:.2f} + other work {c['others']:.2f} (the "
                "Docker daemon included)"
            )
        if mate["problems"] or not done:
            print("\nworker log tail:\n" + world.worker.log_tail(), flush=True)
        if args.json:
            args.json.write_text(json.dumps(figures, indent=2) + "\n")
        print(json.dumps(figures, separators=(",", ":")), flush=True)
        return 0
    except KeyboardInterrupt:
        print("\ninterrupted; cleaning up", file=sys.stderr, flush=True)
        return 130
    finally:
        steps = [("wait for actions under way", wait_in_flight)]
        if django_ready:
            steps.append(("cancel jobs", cancel_unfinished))
        if world.worker is not None:
            steps.append(("stop worker", world.worker.stop))
        if world.server is not None:
            steps.append(("stop gunicorn", world.server.stop))
        if world.sim is not None:
            steps.append(("stop simulator", world.sim.stop))
        if django_ready:
            steps.append(("remove containers", remove_bench_docker))
        steps += [
            ("drop database", lambda: common.drop_database(DB_NAME)),
            ("flush Redis", ingest.flush_redis),
            ("remove temp dir", lambda: shutil.rmtree(var_dir, ignore_errors=True)),
        ]
        common.clean_up(steps)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Interrupted:
        sys.exit(130)
