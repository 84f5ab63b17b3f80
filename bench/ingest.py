"""Benchmark of webhook ingest (SPEC §5.1) on gunicorn + PostgreSQL, beside do-nothing views.

Run: ``.venv/bin/python bench/ingest.py [--seconds 10] [--rate 100] [--json PATH]``

Needs ``wrk`` (Debian: ``apt-get install -y wrk``), PostgreSQL at 127.0.0.1:5432 (user root,
trust auth, an existing database ``test`` to connect to for CREATE/DROP DATABASE) and Redis at
127.0.0.1:6379. All traffic stays on loopback. What it does:

1. drops and recreates the database ``mate_bench``, migrates it, flushes Redis db 15 (broker and
   cache of the run), creates a tenant with ``tenants.services.create_tenant``;
2. starts gunicorn (2 gthread workers, 4 threads each) on a free loopback port serving
   ``bench/ingest_wsgi.py``: ``POST /hook/<tenant>`` is Mate's real endpoint, ``/bare-django`` a
   Django view doing nothing behind Mate's middleware, ``/bare`` a plain WSGI "ok";
3. for each target, two modes with the same ~3 KB GitLab Issue Hook body, the token header and a
   unique ``Idempotency-Key`` per request:
   a. maximum throughput: ``wrk -t2 -c16`` for ``--seconds`` (after a short warm-up);
   b. fixed rate (``--rate`` per second, open loop) for ``--seconds``: Debian has no wrk2, so a
      small client here paces requests from a clock (threads with keep-alive ``http.client``
      connections). Latency is counted from the moment a request was due, not when it left,
      so a stalled server is not hidden by the client waiting for it (coordinated omission);
4. checks that the Delivery rows of each webhook run match its 2xx answers, and counts the
   Celery messages queued in Redis (no worker runs; they are flushed at the end);
5. prints a Markdown table, the ratios webhook/baseline, and the figures as JSON on the last line
   of stdout (and into ``--json PATH`` if given);
6. always stops gunicorn, drops the database, flushes Redis db 15 and removes the temp dir,
   also on Ctrl-C or errors.

The load generator shares the machine's CPUs with gunicorn and PostgreSQL, so maximum
throughput figures are lower than on separate machines; the ratios are the useful part.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import math
import os
import queue
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import redis

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
LUA_SCRIPT = BENCH / "ingest_wrk.lua"
ADMIN_DSN = "host=127.0.0.1 port=5432 user=root dbname=test"
DB_NAME = "mate_bench"
DATABASE_URL = f"postgres://root@127.0.0.1:5432/{DB_NAME}"
REDIS_URL = "redis://127.0.0.1:6379/15"
HOST = "127.0.0.1"

TARGETS = {  # name -> (path template, what it is)
    "webhook": ("/hook/{tenant}", "POST /hook/<tenant>: Mate's endpoint"),
    "bare-django": ("/bare-django", "Django view doing nothing, full middleware"),
    "bare": ("/bare", "plain WSGI 'ok', no Django"),
}

CREATE_TENANT = """
import json
import django
django.setup()
from django.conf import settings
from django.contrib.auth import get_user_model
from tenants.services import create_tenant
# The URL is checked (and its name resolved) when saved: a loopback one, never asked.
settings.MATE_ALLOW_PRIVATE_GITLAB = True
user = get_user_model().objects.create_user(username="bench-owner", password=None)
tenant, secret = create_tenant(user=user, name="Bench", gitlab_url="http://127.0.0.1:9")
print(json.dumps({"uid": str(tenant.uid), "secret": secret}))
"""


class Interrupted(KeyboardInterrupt):
    """SIGTERM/SIGHUP, handled like Ctrl-C so that the clean-up runs."""


def _on_signal(signum, _frame):
    raise Interrupted(f"signal {signum}")


# --- The request body -------------------------------------------------------------------------


def issue_hook() -> dict:
    """A GitLab 17 'Issue Hook' (an issue updated: relabelled and reassigned), about 3 KB."""
    user = {
        "id": 4107,
        "name": "Dana Whitfield",
        "username": "dwhitfield",
        "avatar_url": "https://gitlab.example.com/uploads/-/system/user/avatar/4107/avatar.png",
        "email": "[REDACTED]",
    }
    bot = {
        "id": 9120,
        "name": "Mate Reviewer",
        "username": "mate-reviewer",
        "avatar_url": "https://gitlab.example.com/uploads/-/system/user/avatar/9120/avatar.png",
    }
    label = {
        "id": 311,
        "title": "needs-triage",
        "color": "#dc143c",
        "project_id": 2284,
        "created_at": "2024-11-02 09:14:51 UTC",
        "updated_at": "2025-01-17 16:03:12 UTC",
        "template": False,
        "description": "New issues nobody has looked at yet",
        "type": "ProjectLabel",
        "group_id": None,
    }
    description = (
        "When a merge request pipeline fails on the `release/*` branches, the retry button "
        "re-runs the whole pipeline instead of only the failed jobs.\n\n"
        "### Steps to reproduce\n1. Open a MR targeting `release/2.4`\n2. Let `test:unit` fail\n"
        "3. Click *Retry* on the pipeline page\n\n"
        "### Expected\nOnly `test:unit` and its dependants run again.\n\n"
        "/cc @mate-reviewer please have a look"
    )
    project = {
        "id": 2284,
        "name": "billing-service",
        "description": "Invoices, payments and dunning",
        "web_url": "https://gitlab.example.com/acme/payments/billing-service",
        "avatar_url": None,
        "git_ssh_url": "git@gitlab.example.com:acme/payments/billing-service.git",
        "git_http_url": "https://gitlab.example.com/acme/payments/billing-service.git",
        "namespace": "payments",
        "visibility_level": 10,
        "path_with_namespace": "acme/payments/billing-service",
        "default_branch": "main",
        "ci_config_path": "",
        "homepage": "https://gitlab.example.com/acme/payments/billing-service",
        "url": "git@gitlab.example.com:acme/payments/billing-service.git",
        "ssh_url": "git@gitlab.example.com:acme/payments/billing-service.git",
        "http_url": "https://gitlab.example.com/acme/payments/billing-service.git",
    }
    return {
        "object_kind": "issue",
        "event_type": "issue",
        "user": user,
        "project": project,
        "object_attributes": {
            "author_id": 4107,
            "closed_at": None,
            "confidential": False,
            "created_at": "2025-01-17 15:58:40 UTC",
            "description": description,
            "discussion_locked": None,
            "due_date": None,
            "id": 188421,
            "iid": 1342,
            "last_edited_at": None,
            "last_edited_by_id": None,
            "milestone_id": 77,
            "moved_to_id": None,
            "duplicated_to_id": None,
            "project_id": 2284,
            "relative_position": 513,
            "state_id": 1,
            "time_estimate": 0,
            "title": "Retry re-runs the whole pipeline on release branches",
            "updated_at": "2025-01-17 16:03:12 UTC",
            "updated_by_id": 4107,
            "weight": 2,
            "health_status": None,
            "type": "Issue",
            "url": "https://gitlab.example.com/acme/payments/billing-service/-/issues/1342",
            "total_time_spent": 0,
            "time_change": 0,
            "human_total_time_spent": None,
            "human_time_change": None,
            "human_time_estimate": None,
            "assignee_ids": [9120],
            "assignee_id": 9120,
            "labels": [label],
            "state": "opened",
            "severity": "unknown",
            "customer_relations_contacts": [],
            "action": "update",
        },
        "labels": [label],
        "changes": {
            "assignees": {"previous": [], "current": [bot]},
            "labels": {"previous": [], "current": [label]},
            "updated_at": {
                "previous": "2025-01-17 15:58:40 UTC",
                "current": "2025-01-17 16:03:12 UTC",
            },
        },
        "repository": {
            "name": "billing-service",
            "url": "git@gitlab.example.com:acme/payments/billing-service.git",
            "description": "Invoices, payments and dunning",
            "homepage": "https://gitlab.example.com/acme/payments/billing-service",
        },
        "assignees": [bot],
    }


def base_headers(token: str) -> dict[str, str]:
    """The headers GitLab sends (the same set as in ingest_wrk.lua)."""
    return {
        "Content-Type": "application/json",
        "User-Agent": "GitLab/17.11.0",
        "X-Gitlab-Event": "Issue Hook",
        "X-Gitlab-Instance": "https://gitlab.example.com",
        "X-Gitlab-Webhook-UUID": "6f0c1b9e-2a7d-4c55-9d3e-0b8f4a1c2e77",
        "X-Gitlab-Token": token,
    }


# --- Statistics -------------------------------------------------------------------------------


def percentile(ordered: list[float], pct: float) -> float:
    """Nearest-rank percentile of an ascending list (0.0 for an empty one)."""
    if not ordered:
        return 0.0
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


@dataclass
class Result:
    target: str
    mode: str  # "max" or "rate"
    prefix: str  # idempotency keys of this run start with it
    seconds: float
    requests: int  # answered requests
    ok2xx: int
    non2xx: int
    errors: dict[str, int]
    rps: float
    p50_ms: float
    p99_ms: float
    extra: dict = field(default_factory=dict)

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


# --- The environment --------------------------------------------------------------------------


def child_env(var_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="mate.settings",
        DATABASE_URL=DATABASE_URL,
        REDIS_URL=REDIS_URL,
        MATE_VAR_DIR=str(var_dir),
        MATE_ENV="development",
        DJANGO_DEBUG="0",  # as in production: no query log, no WhiteNoise autorefresh
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        MATE_CELERY_EAGER="0",  # processing must be queued, not run inside the request
        MATE_LOG_LEVEL="WARNING",
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


def recreate_database() -> None:
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")


def drop_database() -> None:
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")


def flush_redis() -> None:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.flushdb()
    finally:
        client.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def venv_bin(name: str) -> str:
    candidate = Path(sys.executable).parent / name
    return str(candidate if candidate.exists() else ROOT / ".venv" / "bin" / name)


def run_checked(args: list[str], env: dict[str, str], what: str) -> str:
    proc = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise RuntimeError(f"{what} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


class Server:
    """gunicorn serving bench/ingest_wsgi.py on a free loopback port."""

    def __init__(self, env: dict[str, str], log_path: Path, workers: int, threads: int) -> None:
        self.env, self.log_path = env, log_path
        self.workers, self.threads = workers, threads
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        args = [
            venv_bin("gunicorn"),
            "ingest_wsgi:application",
            "--chdir", str(ROOT),
            "--pythonpath", str(BENCH),
            "--bind", f"{HOST}:{self.port}",
            "--workers", str(self.workers),
            "--worker-class", "gthread",
            "--threads", str(self.threads),
            "--graceful-timeout", "5",
            "--log-level", "warning",
        ]  # fmt: skip
        log = self.log_path.open("ab")
        # Own session: Ctrl-C reaches this script only, which then stops gunicorn itself.
        self.proc = subprocess.Popen(
            args, cwd=ROOT, env=self.env, stdout=log, stderr=log, start_new_session=True
        )
        log.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited ({self.proc.returncode}):\n{self.log_tail()}")
            with contextlib.suppress(OSError):
                status, _ = request_once(self.port, "GET", "/bare", {}, b"")
                if status == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn did not answer within 30 s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()  # the master stops its workers
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def request_once(
    port: int, method: str, path: str, headers: dict[str, str], body: bytes
) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        conn.request(method, path, body=body or None, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


class CpuMeter:
    """CPU seconds used by the server side: gunicorn's workers and the bench database's backends.

    Read from /proc (Linux), so it is per process and not disturbed by other load on the machine
    as much as requests/s are. Backends are recognised by their title ``postgres: ... mate_bench``.
    """

    def __init__(self, server: Server) -> None:
        self.server = server
        self.tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    def _cpu(self, pid: int) -> float:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / self.tick  # utime + stime

    def _machine_busy(self) -> float:
        """CPU seconds all processes of the machine spent busy (not idle, not waiting on I/O)."""
        try:
            values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        except (OSError, ValueError):
            return 0.0
        return (sum(values[:8]) - values[3] - values[4]) / self.tick

    def snapshot(self) -> dict[str, dict[int, float]]:
        times = os.times()
        out: dict[str, dict[int, float]] = {
            "gunicorn": {},
            "postgres": {},
            # this script and its finished children (wrk): the load generators
            "client": {0: times.user + times.system + times.children_user + times.children_system},
            "machine": {0: self._machine_busy()},
            "wall": {0: time.monotonic()},
        }
        master = self.server.proc.pid if self.server.proc else -1
        for entry in Path("/proc").iterdir() if Path("/proc/self/stat").exists() else ():
            if not entry.name.isdigit():
                continue
            pid = int(entry.name)
            try:
                stat = (entry / "stat").read_text()
                parent = int(stat.rsplit(")", 1)[1].split()[1])
                if parent == master:
                    out["gunicorn"][pid] = self._cpu(pid)
                elif f" {DB_NAME} " in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    out["postgres"][pid] = self._cpu(pid)
            except (OSError, ValueError, IndexError):
                continue
        return out

    @staticmethod
    def used(before: dict, after: dict) -> dict[str, float]:
        return {
            kind: sum(cpu - before[kind].get(pid, 0.0) for pid, cpu in after[kind].items())
            for kind in after
        }


def add_cpu(result: Result, used: dict[str, float]) -> None:
    for kind in ("gunicorn", "postgres"):
        per_request = used[kind] * 1000 / result.requests if result.requests else 0.0
        result.extra[f"{kind}_cpu_ms_per_req"] = per_request
    wall = used["wall"] or 1.0
    ours = used["gunicorn"] + used["postgres"] + used["client"]
    result.extra["client_cores"] = used["client"] / wall
    # Everything else that ran meanwhile (Redis, other work on the machine), in busy cores:
    # the noise to read the figures against.
    result.extra["other_cores"] = max(0.0, used["machine"] - ours) / wall


# --- Load: wrk (maximum throughput) -----------------------------------------------------------


def run_wrk(
    *,
    port: int,
    path: str,
    seconds: float,
    threads: int,
    connections: int,
    body_file: Path,
    token: str,
    prefix: str,
    target: str,
) -> Result:
    args = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout", "10s",
        "-s", str(LUA_SCRIPT),
        f"http://{HOST}:{port}{path}",
        "--", str(body_file), token, prefix,
    ]  # fmt: skip
    proc = subprocess.run(args, capture_output=True, text=True, timeout=seconds + 60)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("WRK_JSON ")), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    data = json.loads(line.removeprefix("WRK_JSON "))
    duration = data["duration_us"] / 1e6
    socket_errors = {k: v for k, v in data["errors"].items() if k != "status"}
    return Result(
        target=target,
        mode="max",
        prefix=prefix,
        seconds=duration,
        requests=data["requests"],
        ok2xx=data["ok2xx"],
        non2xx=data["non2xx"],
        errors=socket_errors,
        rps=data["requests"] / duration if duration else 0.0,
        p50_ms=data["latency_us"]["p50"] / 1000,
        p99_ms=data["latency_us"]["p99"] / 1000,
        extra={
            "p90_ms": data["latency_us"]["p90"] / 1000,
            "max_ms": data["latency_us"]["max"] / 1000,
            "mean_ms": data["latency_us"]["mean"] / 1000,
            # Requests sent but not answered when wrk stopped (the server may still have stored
            # them): explains Delivery rows above the 2xx count, at most one per connection.
            # wrk calls request() once more on thread 1 to check the script, never sending it.
            "unanswered_at_stop": max(0, data["generated"] - 1 - data["requests"]),
            "connections": connections,
            "wrk_threads": threads,
        },
    )


# --- Load: fixed rate (open loop, Python) -----------------------------------------------------


RETRYABLE = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)


def run_fixed_rate(
    *,
    port: int,
    path: str,
    seconds: float,
    rate: float,
    concurrency: int,
    body: bytes,
    token: str,
    prefix: str,
    target: str,
) -> Result:
    total = max(1, int(rate * seconds))
    due_queue: queue.Queue[tuple[int, float] | None] = queue.Queue()
    # per request: (status or 0, latency from due time ms, service time ms, error name or "")
    outcomes: list[tuple[int, float, float, str] | None] = [None] * total
    headers = base_headers(token)

    def worker(worker_id: int) -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=10)
        used = 0
        while (item := due_queue.get()) is not None:
            index, due = item
            key = f"{prefix}-w{worker_id}-{index}-{secrets.token_hex(4)}"
            request_headers = {**headers, "Idempotency-Key": key, "X-Gitlab-Event-UUID": key}
            for attempt in (1, 2):
                sent = time.perf_counter()
                try:
                    conn.request("POST", path, body=body, headers=request_headers)
                    response = conn.getresponse()
                    response.read()
                    done = time.perf_counter()
                    used += 1
                    outcomes[index] = (
                        response.status, (done - due) * 1000, (done - sent) * 1000, ""
                    )  # fmt: skip
                    break
                except Exception as exc:
                    conn.close()
                    conn = http.client.HTTPConnection(HOST, port, timeout=10)
                    # An idle keep-alive connection closed by the server: the request was not
                    # processed; send it again (same key, so it can never be stored twice).
                    if attempt == 1 and used and isinstance(exc, RETRYABLE):
                        used = 0
                        continue
                    outcomes[index] = (0, 0.0, 0.0, type(exc).__name__)
                    break
        conn.close()

    pool = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(concurrency)]
    for thread in pool:
        thread.start()
    start = time.perf_counter() + 0.05
    late = 0
    for index in range(total):
        due = start + index / rate
        pause = due - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        elif pause < -0.001:
            late += 1  # the pacer itself fell behind (client saturated)
        due_queue.put((index, due))
    for _ in pool:
        due_queue.put(None)
    for thread in pool:
        thread.join()
    finished = time.perf_counter()

    answered = [o for o in outcomes if o and o[0]]
    errors: dict[str, int] = {}
    for o in outcomes:
        if o is None or not o[0]:
            name = o[3] if o else "lost"
            errors[name] = errors.get(name, 0) + 1
    latency = sorted(o[1] for o in answered)
    service = sorted(o[2] for o in answered)
    elapsed = finished - start
    return Result(
        target=target,
        mode="rate",
        prefix=prefix,
        seconds=elapsed,
        requests=len(answered),
        ok2xx=sum(1 for o in answered if 200 <= o[0] < 300),
        non2xx=sum(1 for o in answered if not 200 <= o[0] < 300),
        errors=errors,
        rps=len(answered) / elapsed if elapsed else 0.0,
        p50_ms=percentile(latency, 50),
        p99_ms=percentile(latency, 99),
        extra={
            "target_rate": rate,
            "p90_ms": percentile(latency, 90),
            "max_ms": latency[-1] if latency else 0.0,
            "service_p50_ms": percentile(service, 50),
            "service_p99_ms": percentile(service, 99),
            "pacer_late": late,
            "client_threads": concurrency,
        },
    )


# --- Checks -----------------------------------------------------------------------------------


def sanity_checks(port: int, tenant: str, token: str, body: bytes) -> list[str]:
    """Refuse to measure an endpoint that does not behave (these requests use keys 'sanity-*')."""
    path = TARGETS["webhook"][0].format(tenant=tenant)
    headers = {**base_headers(token), "Idempotency-Key": "sanity-1"}
    notes = []
    status, answer = request_once(port, "POST", path, headers, body)
    if status != 200 or json.loads(answer).get("duplicate") is not False:
        raise RuntimeError(f"webhook answered {status} {answer[:300]!r} to a valid delivery")
    status, answer = request_once(port, "POST", path, headers, body)
    if status != 200 or json.loads(answer).get("duplicate") is not True:
        raise RuntimeError(f"a repeated Idempotency-Key got {status} {answer[:300]!r}")
    notes.append("valid delivery -> 200, same key again -> 200 duplicate")
    wrong = {**headers, "X-Gitlab-Token": "wrong", "Idempotency-Key": "sanity-2"}
    status, _ = request_once(port, "POST", path, wrong, body)
    if status != 401:
        raise RuntimeError(f"a wrong token got {status}, expected 401")
    notes.append("wrong token -> 401")
    for name in ("bare", "bare-django"):
        status, answer = request_once(port, "POST", TARGETS[name][0], headers, body)
        if (status, answer) != (200, b"ok"):
            raise RuntimeError(f"/{name} answered {status} {answer[:100]!r}")
    notes.append("/bare and /bare-django -> 200 ok")
    return notes


def count_deliveries(prefixes: list[str]) -> dict[str, int]:
    counts = {}
    with psycopg.connect(f"host=127.0.0.1 port=5432 user=root dbname={DB_NAME}") as conn:
        for prefix in prefixes:
            row = conn.execute(
                "SELECT count(*) FROM jobs_delivery WHERE idempotency_key LIKE %s",
                (prefix.replace("_", r"\_") + "-%",),
            ).fetchone()
            counts[prefix] = row[0] if row else 0
        row = conn.execute("SELECT count(*) FROM jobs_delivery").fetchone()
        counts["*"] = row[0] if row else 0
    return counts


def queued_messages() -> int:
    """Celery messages waiting in the Redis broker (lists in db 15)."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        return sum(
            client.llen(key) for key in client.scan_iter(count=1000) if client.type(key) == b"list"
        )
    finally:
        client.close()


# --- Report -----------------------------------------------------------------------------------


def ratio(a: float, b: float) -> float | None:
    return round(a / b, 2) if b else None


def fmt_ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def markdown(results: list[Result], ratios: dict, args) -> str:
    mode_name = {"max": f"max (wrk -t{args.wrk_threads} -c{args.connections})", "rate": ""}
    mode_name["rate"] = f"fixed {args.rate:g}/s"
    lines = [
        "| target | mode | req/s | p50 ms | p99 ms | 2xx | non-2xx | errors "
        "| server CPU ms/req (gunicorn + pg) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r.target} | {mode_name[r.mode]} | {r.rps:,.1f} | {r.p50_ms:.2f} | "
            f"{r.p99_ms:.2f} | {r.ok2xx:,} | {r.non2xx:,} | {r.error_count:,} | {cpu_text(r)} |"
        )
    lines += [
        "",
        "| ratio webhook / baseline | vs bare-django | vs bare (WSGI) |",
        "|---|---:|---:|",
    ]
    for label, key in (
        ("max throughput (req/s)", "max_rps"),
        ("max-mode p50 latency", "max_p50"),
        ("max-mode p99 latency", "max_p99"),
        (f"fixed {args.rate:g}/s p50 latency", "rate_p50"),
        (f"fixed {args.rate:g}/s p99 latency", "rate_p99"),
        ("server CPU per request (max mode)", "max_cpu"),
    ):
        lines.append(
            f"| {label} | {fmt_ratio(ratios['bare-django'][key])} | "
            f"{fmt_ratio(ratios['bare'][key])} |"
        )
    return "\n".join(lines)


def compute_ratios(results: list[Result]) -> dict:
    by = {(r.target, r.mode): r for r in results}
    out = {}
    hook_max, hook_rate = by[("webhook", "max")], by[("webhook", "rate")]
    for base in ("bare-django", "bare"):
        base_max, base_rate = by[(base, "max")], by[(base, "rate")]
        out[base] = {
            "max_rps": ratio(hook_max.rps, base_max.rps),
            "max_p50": ratio(hook_max.p50_ms, base_max.p50_ms),
            "max_p99": ratio(hook_max.p99_ms, base_max.p99_ms),
            "rate_p50": ratio(hook_rate.p50_ms, base_rate.p50_ms),
            "rate_p99": ratio(hook_rate.p99_ms, base_rate.p99_ms),
            "max_cpu": ratio(server_cpu(hook_max), server_cpu(base_max)),
        }
    return out


def server_cpu(r: Result) -> float:
    return r.extra.get("gunicorn_cpu_ms_per_req", 0.0) + r.extra.get("postgres_cpu_ms_per_req", 0.0)


def cpu_text(r: Result) -> str:
    if "gunicorn_cpu_ms_per_req" not in r.extra:
        return "n/a"
    gunicorn, pg = r.extra["gunicorn_cpu_ms_per_req"], r.extra["postgres_cpu_ms_per_req"]
    return f"{gunicorn + pg:.2f} ({gunicorn:.2f} + {pg:.2f})"


def print_result(r: Result) -> None:
    errors = ", ".join(f"{k} {v}" for k, v in r.errors.items() if v) or "none"
    print(
        f"  {r.target:<12} {r.mode:<5} {r.rps:9.1f} req/s  p50 {r.p50_ms:7.2f} ms  "
        f"p99 {r.p99_ms:7.2f} ms  2xx {r.ok2xx:,}  non-2xx {r.non2xx:,}  errors: {errors}  "
        f"server CPU/req {cpu_text(r)} ms",
        flush=True,
    )
    if "other_cores" in r.extra:
        print(
            f"  {'':<18} load generator {r.extra['client_cores']:.2f} cores; other processes "
            f"on the machine (Redis, other work) {r.extra['other_cores']:.2f} cores",
            flush=True,
        )
    if r.mode == "rate":
        x = r.extra
        print(
            f"  {'':<18} service time (send->answer) p50 {x['service_p50_ms']:.2f} ms, "
            f"p99 {x['service_p99_ms']:.2f} ms; pacer late {x['pacer_late']}x",
            flush=True,
        )


# --- Main -------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10, help="per target and mode")
    parser.add_argument("--rate", type=float, default=100, help="requests/s of the fixed-rate run")
    parser.add_argument("--warmup", type=float, default=2, help="seconds of wrk before each run")
    parser.add_argument("--connections", type=int, default=16, help="wrk -c")
    parser.add_argument("--wrk-threads", type=int, default=2, help="wrk -t")
    parser.add_argument("--client-threads", type=int, default=16, help="fixed-rate client")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    if shutil.which("wrk") is None:
        print(
            "wrk is not installed. On Debian/Ubuntu: sudo apt-get install -y wrk "
            "(then run this script again).",
            file=sys.stderr,
        )
        return 2
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _on_signal)

    var_dir = Path(tempfile.mkdtemp(prefix="mate-bench-ingest-"))
    env = child_env(var_dir)
    server = Server(env, var_dir / "gunicorn.log", args.workers, args.threads)
    run_id = secrets.token_hex(3)
    try:
        print(f"setting up: database {DB_NAME}, Redis db 15, MATE_VAR_DIR={var_dir}", flush=True)
        flush_redis()
        recreate_database()
        run_checked([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], env, "migrate")
        tenant = json.loads(
            run_checked([sys.executable, "-c", CREATE_TENANT], env, "create tenant")
            .strip()
            .splitlines()[-1]
        )
        body = json.dumps(issue_hook()).encode()
        body_file = var_dir / "issue_hook.json"
        body_file.write_bytes(body)
        server.start()
        print(
            f"gunicorn on {HOST}:{server.port}: {args.workers} gthread workers x {args.threads} "
            f"threads; body {len(body):,} bytes; {os.cpu_count()} CPUs shared with the load "
            "generator and PostgreSQL",
            flush=True,
        )
        for note in sanity_checks(server.port, tenant["uid"], tenant["secret"], body):
            print(f"  ok: {note}", flush=True)

        results: list[Result] = []
        warmups: list[Result] = []
        common = {"port": server.port, "token": tenant["secret"]}
        meter = CpuMeter(server)

        def measured(run, **kwargs) -> Result:
            before = meter.snapshot()
            result = run(**kwargs)
            add_cpu(result, meter.used(before, meter.snapshot()))
            return result

        print(f"\nmaximum throughput, {args.seconds:g} s each (after {args.warmup:g} s warm-up):")
        for name, (template, _) in TARGETS.items():
            path = template.format(tenant=tenant["uid"])
            wrk_common = {
                **common,
                "path": path,
                "threads": args.wrk_threads,
                "connections": args.connections,
                "body_file": body_file,
                "target": name,
            }
            if args.warmup > 0:
                warmups.append(run_wrk(seconds=args.warmup, prefix=f"warm{run_id}", **wrk_common))
            results.append(
                measured(run_wrk, seconds=args.seconds, prefix=f"max{run_id}", **wrk_common)
            )
            print_result(results[-1])
        print(f"\nfixed rate {args.rate:g}/s, {args.seconds:g} s each (open loop, Python client):")
        for name, (template, _) in TARGETS.items():
            results.append(
                measured(
                    run_fixed_rate,
                    **common,
                    path=template.format(tenant=tenant["uid"]),
                    seconds=args.seconds,
                    rate=args.rate,
                    concurrency=args.client_threads,
                    body=body,
                    prefix=f"rate{run_id}",
                    target=name,
                )
            )
            print_result(results[-1])

        time.sleep(1)  # let requests wrk abandoned at its stop finish on the server
        hook_runs = [r for r in results if r.target == "webhook"]
        hook_warm = [w for w in warmups if w.target == "webhook"]
        counts = count_deliveries([r.prefix for r in hook_runs] + [w.prefix for w in hook_warm])
        queued = queued_messages()
        print("\nDelivery rows against 2xx answers (webhook runs):")
        checks = []
        for r in hook_warm + hook_runs:
            rows = counts[r.prefix]
            slack = r.extra.get("unanswered_at_stop", 0)
            honest = r.ok2xx <= rows <= r.ok2xx + slack
            label = "warm-up" if r in hook_warm else r.mode
            note = f" (+ up to {slack} sent but unanswered when wrk stopped)" if slack else ""
            verdict = "ok" if honest else "MISMATCH"
            print(f"  {label:<8} rows {rows:,}  2xx {r.ok2xx:,}{note}: {verdict}")
            checks.append({"run": label, "rows": rows, "ok2xx": r.ok2xx, "slack": slack})
        print(
            f"  all rows {counts['*']:,} (incl. 1 sanity delivery); Celery messages queued in "
            f"Redis db 15: {queued:,}" + ("" if queued == counts["*"] else "  <- differs from rows")
        )
        if any(r.non2xx or r.error_count for r in results):
            print("\nsome requests failed; gunicorn log tail:\n" + server.log_tail(), flush=True)

        ratios = compute_ratios(results)
        print("\n" + markdown(results, ratios, args) + "\n")
        figures = {
            "benchmark": "ingest",
            "seconds": args.seconds,
            "rate": args.rate,
            "server": {"workers": args.workers, "threads": args.threads, "class": "gthread"},
            "body_bytes": len(body),
            "cpus": os.cpu_count(),
            "results": [
                {
                    "target": r.target,
                    "mode": r.mode,
                    "rps": round(r.rps, 1),
                    "p50_ms": round(r.p50_ms, 3),
                    "p99_ms": round(r.p99_ms, 3),
                    "requests": r.requests,
                    "ok2xx": r.ok2xx,
                    "non2xx": r.non2xx,
                    "errors": r.errors,
                    **{k: round(v, 3) if isinstance(v, float) else v for k, v in r.extra.items()},
                }
                for r in results
            ],
            "ratios_webhook_over": ratios,
            "delivery_check": {"runs": checks, "rows_total": counts["*"], "queued": queued},
        }
        if args.json:
            args.json.write_text(json.dumps(figures, indent=2) + "\n")
        print(json.dumps(figures, separators=(",", ":")), flush=True)
        return 0
    except KeyboardInterrupt:
        print("\ninterrupted; cleaning up", file=sys.stderr, flush=True)
        return 130
    finally:
        # Ignore further Ctrl-C while cleaning up, so the clean-up itself is not cut short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for step in (server.stop, drop_database, flush_redis):
            try:
                step()
            except Exception as exc:
                print(f"clean-up step {step.__name__} failed: {exc}", file=sys.stderr)
        shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
