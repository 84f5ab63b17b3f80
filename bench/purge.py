"""Benchmark of the retention purge (SPEC §9) on a large event table while the webhook endpoint
is under load: rows/s of the purge, and the web p99 with and without the purge running.

Run: ``.venv/bin/python bench/purge.py [--jobs 20000] [--events-per-job 60] [--rate 100]
[--json PATH]``

Needs PostgreSQL at 127.0.0.1:5432 (user root, trust, a database ``test`` to connect to for
CREATE/DROP DATABASE) and Redis at 127.0.0.1:6379; all traffic stays on loopback. What it does:

1. drops and recreates the database ``mate_bench_purge``, migrates it, flushes Redis db 15,
   creates a tenant with ``tenants.services.create_tenant`` (``MATE_RETENTION_DAYS=30``);
2. seeds with ``INSERT ... SELECT generate_series`` (one statement per table, ids in time order
   as in a real installation): ``--jobs`` final jobs spread evenly over a span chosen so that
   ``--old-share`` of them (default 80%) are older than the retention, each with its delivery
   (the ingest bench's ~3 KB Issue Hook body), delivery outcome, two tokens, ``--tool-calls``
   tool calls and ``--events-per-job`` timeline events (default 20,000 x 60 = 1.2 million
   JobEvent rows), then ``VACUUM ANALYZE`` (a steady state, with planner statistics) and a
   ``CHECKPOINT`` (so that the seed's writes do not land in the baseline window);
3. starts gunicorn like the ingest bench (2 gthread workers x 4 threads, ``bench/ingest_wsgi.py``)
   and checks the endpoint (the ingest bench's sanity checks);
4. load: the ingest bench's fixed-rate, open-loop client (``--rate`` per second, latency counted
   from the moment a request was due, unique Idempotency-Keys), here running until told to stop
   so that it can span the purge exactly:
   a. baseline: ``--baseline-seconds`` without the purge;
   b. purge: the load starts, 2 s later ``jobs.services.retention.purge_old_data()`` runs in a
      separate process (as the Celery task would: its own interpreter and connection); the
      window is the purge's own start to end;
   c. after: ``--after-seconds`` once the purge is done (autovacuum may be busy then);
5. checks that no row older than the cut-off is left, that the recent ones are all there, and
   that every 2xx answer of the load has its Delivery row;
6. prints a Markdown table, the purge's rows/s and CPU, the targets of the issue (purge >= 5,000
   rows/s with web p99 raised by <= 20%, reported, not asserted) and the figures as JSON on the
   last line (and into ``--json PATH``);
7. always stops gunicorn and the purge process, drops the database, flushes Redis db 15 and
   removes the temp dir, also on Ctrl-C.

The load generator, gunicorn, the purge and PostgreSQL share this machine's CPUs; on a small
machine the purge's CPU alone moves the p99. The baseline and after windows show the noise.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import queue
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import common
import ingest
import psycopg
from common import CpuMeter, Interrupted, markdown_table, summary
from ingest import HOST, RETRYABLE, base_headers

DB_NAME = "mate_bench_purge"
DSN = f"host=127.0.0.1 port=5432 user=root dbname={DB_NAME}"
RETENTION_DAYS = 30
TARGET_ROWS_PER_S = 5000
TARGET_P99_RISE = 0.20

# The purge in its own interpreter: set up, report the PostgreSQL backend, wait for "go" on
# stdin, purge, print the result as JSON. CPU of the backend is read from /proc (same machine).
PURGE_RUNNER = r"""
import json, os, resource, sys, time
import django
django.setup()
from django.db import connection
from jobs.services.retention import purge_old_data

with connection.cursor() as cursor:
    cursor.execute("SELECT pg_backend_pid()")
    backend = cursor.fetchone()[0]

def backend_cpu():
    try:
        fields = open(f"/proc/{backend}/stat").read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None

print("READY", flush=True)
sys.stdin.readline()
batch = int(sys.argv[1]) if len(sys.argv) > 1 else None
cpu0, own0 = backend_cpu(), resource.getrusage(resource.RUSAGE_SELF)
t0, p0 = time.time(), time.perf_counter()
result = purge_old_data(batch_size=batch) if batch else purge_old_data()
p1, t1 = time.perf_counter(), time.time()
cpu1, own1 = backend_cpu(), resource.getrusage(resource.RUSAGE_SELF)
own = (own1.ru_utime + own1.ru_stime) - (own0.ru_utime + own0.ru_stime)
print(json.dumps({
    "result": result, "start": t0, "end": t1, "seconds": p1 - p0,
    "python_cpu_s": own,
    "backend_cpu_s": None if cpu0 is None or cpu1 is None else cpu1 - cpu0,
}), flush=True)
"""


# --- Seeding -----------------------------------------------------------------------------------

# Row number g (1..n) in time order; ts spreads the jobs evenly over the span, oldest first.
TIMELINE = """
    SELECT g, now() - %(span)s * interval '1 day'
              + (g - 0.5) * (%(span)s * interval '1 day') / %(n)s AS ts
    FROM generate_series(1, %(n)s) AS g
"""

SEED = [
    (
        "deliveries",
        f"""
        INSERT INTO jobs_delivery (id, uid, hook, idempotency_key, headers, body, state,
            received_at, processed_at, attempts, summary, tenant_id)
        SELECT g, gen_random_uuid(), 'Issue Hook', 'seed-' || g, %(headers)s::jsonb,
            %(body)s::jsonb, 'processed', ts, ts + interval '1 second', 1, 'dispatched',
            %(tenant)s
        FROM ({TIMELINE}) AS t
        """,
    ),
    (
        "jobs",
        f"""
        INSERT INTO jobs_job (id, uid, event_key, event, bot_username, agent, trigger,
            project_id, project_path, object_kind, object_iid, loop_key, snapshot, status,
            outcome, exit_code, created_at, started_at, finished_at, tool_calls, cost_usd,
            delivery_id, tenant_id, cancel_reason, container_id, container_name,
            credential_expires_at, credential_hash, image, last_activity_at, uses_bot_pat,
            worker)
        SELECT g, gen_random_uuid(), 'seed:' || g, 'issue_assigned', 'mate-bot', 'helper',
            'tenant[0]', 2284, 'acme/payments/billing-service', 'issue', g, 'issue/' || g,
            %(snapshot)s::jsonb, 'DONE', 'SUCCESS', 0, ts, ts + interval '2 seconds',
            ts + interval '5 minutes', %(tool_calls)s, 0.0123, g, %(tenant)s, '',
            md5(g::text), 'mate-job-' || g, ts + interval '1 hour', '', 'mate-agent:latest',
            ts + interval '5 minutes', false, 'seed:1'
        FROM ({TIMELINE}) AS t
        """,
    ),
    (
        "delivery_events",
        f"""
        INSERT INTO jobs_deliveryevent (id, position, event, bot, resolution, reason, detail,
            created_at, delivery_id, tenant_id, job_id)
        SELECT g, 0, 'issue_assigned', 'mate-bot', 'dispatched', 'job seed-' || g,
            '{{"trigger": {{"on": "issue_assigned"}}, "agent": "helper"}}'::jsonb,
            ts, g, %(tenant)s, g
        FROM ({TIMELINE}) AS t
        """,
    ),
    (
        "job_tokens",
        f"""
        INSERT INTO jobs_jobtoken (id, uid, kind, gitlab_token_id, scopes, access_level,
            minted_at, revoked_at, value_ciphertext, value_set_at, job_id)
        SELECT (g - 1) * 2 + k, gen_random_uuid(),
            CASE k WHEN 1 THEN 'gitlab_key' ELSE 'clone_token' END, (g - 1) * 2 + k,
            '["api"]'::jsonb, 30, ts, ts + interval '5 minutes', repeat('x', 180), ts, g
        FROM ({TIMELINE}) AS t CROSS JOIN generate_series(1, 2) AS k
        ORDER BY g, k
        """,
    ),
    (
        "tool_calls",
        f"""
        INSERT INTO toolservice_toolcall (id, tool, transport, arguments, outcome,
            error_category, denial_reason, duration_ms, created_at, job_id, tenant_id)
        SELECT (g - 1) * %(tool_calls)s + k, 'get_issue', 'mcp', '{{"iid": 1342}}'::jsonb, 'ok',
            '', '', 40, ts + k * interval '1 second', g, %(tenant)s
        FROM ({TIMELINE}) AS t CROSS JOIN generate_series(1, %(tool_calls)s) AS k
        ORDER BY g, k
        """,
    ),
    (
        "job_events",
        f"""
        INSERT INTO jobs_jobevent (id, kind, data, created_at, job_id)
        SELECT (g - 1) * %(events)s + e,
            CASE WHEN e = 1 THEN 'status' WHEN e = %(events)s THEN 'final' ELSE 'log' END,
            jsonb_build_object('line', '{{"type":"assistant","message":{{"content":[{{"type":'
                || '"text","text":"Step ' || e || ' of job ' || g || ': reading the issue and '
                || 'the files it names, then writing a short note with what I found."}}]}}}}'),
            ts + e * interval '1 second', g
        FROM ({TIMELINE}) AS t CROSS JOIN generate_series(1, %(events)s) AS e
        ORDER BY g, e
        """,
    ),
]
TABLES = {
    "deliveries": "jobs_delivery",
    "jobs": "jobs_job",
    "delivery_events": "jobs_deliveryevent",
    "job_tokens": "jobs_jobtoken",
    "tool_calls": "toolservice_toolcall",
    "job_events": "jobs_jobevent",
}
# How the purge dates each kind of row: children by their job's or delivery's age.
AGE = {
    "deliveries": ("jobs_delivery AS d", "d.received_at"),
    "jobs": ("jobs_job AS j", "j.created_at"),
    "delivery_events": (
        "jobs_deliveryevent AS x JOIN jobs_delivery AS d ON d.id = x.delivery_id",
        "d.received_at",
    ),
    "job_tokens": ("jobs_jobtoken AS x JOIN jobs_job AS j ON j.id = x.job_id", "j.created_at"),
    "tool_calls": (
        "toolservice_toolcall AS x JOIN jobs_job AS j ON j.id = x.job_id",
        "j.created_at",
    ),
    "job_events": ("jobs_jobevent AS x JOIN jobs_job AS j ON j.id = x.job_id", "j.created_at"),
}


def seed(tenant_uid: str, args) -> dict[str, float]:
    """Fill the tables; returns seconds per table."""
    span = RETENTION_DAYS / (1 - args.old_share)
    snapshot = {
        "event": {"event": "issue_assigned", "project_id": 2284, "object_iid": 1342},
        "bot": "mate-bot",
        "project": {"id": 2284, "path": "acme/payments/billing-service"},
        "agent": {"name": "helper", "model": "claude-sonnet-4-5", "timeout_seconds": 3600},
        "authorities": ["read", "comment"],
        "timeout_seconds": 3600,
    }
    timings = {}
    with psycopg.connect(DSN, autocommit=True) as conn:
        row = conn.execute("SELECT id FROM tenants_tenant WHERE uid = %s", (tenant_uid,)).fetchone()
        params = {
            "tenant": row[0],
            "n": args.jobs,
            "span": span,
            "events": args.events_per_job,
            "tool_calls": args.tool_calls,
            "body": json.dumps(ingest.issue_hook()),
            "headers": json.dumps(base_headers("redacted")),
            "snapshot": json.dumps(snapshot),
        }
        for name, sql in SEED:
            started = time.perf_counter()
            conn.execute(sql, params)
            table = TABLES[name]
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
            timings[name] = time.perf_counter() - started
        started = time.perf_counter()
        for table in TABLES.values():
            conn.execute(f"VACUUM ANALYZE {table}")
        timings["vacuum_analyze"] = time.perf_counter() - started
        # Write the seed's dirty pages out now, not in a checkpoint during the baseline window.
        started = time.perf_counter()
        conn.execute("CHECKPOINT")
        timings["checkpoint"] = time.perf_counter() - started
    return timings


def count_rows(now: float) -> dict[str, dict[str, int]]:
    """Rows per kind older than the retention cut-off as of ``now`` (epoch seconds), and the
    others, dated the way the purge dates them."""
    out = {}
    with psycopg.connect(DSN, autocommit=True) as conn:
        for name, (source, age) in AGE.items():
            old, new = conn.execute(
                f"SELECT count(*) FILTER (WHERE {age} < %(cutoff)s), "
                f"count(*) FILTER (WHERE {age} >= %(cutoff)s) FROM {source}",
                {"cutoff": datetime.fromtimestamp(now, UTC) - timedelta(days=RETENTION_DAYS)},
            ).fetchone()
            out[name] = {"old": old, "new": new}
    return out


def count_load_deliveries(prefix: str) -> int:
    with psycopg.connect(DSN, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM jobs_delivery WHERE idempotency_key LIKE %s", (prefix + "-%",)
        ).fetchone()
    return row[0]


# --- Load --------------------------------------------------------------------------------------


@dataclass
class Sample:
    due: float  # wall clock (time.time()) when the request was due
    latency_ms: float  # from due to answer (coordinated omission counted in)
    status: int  # 0: no answer
    error: str = ""


class PacedLoad:
    """The ingest bench's fixed-rate, open-loop client (``ingest.run_fixed_rate``), running until
    ``stop()`` instead of for a fixed time, and keeping every sample with its due time, so that
    the figures of any time window (the purge's) can be taken from one continuous load."""

    def __init__(self, port: int, path: str, token: str, body: bytes, rate: float, threads: int):
        self.port, self.path, self.body, self.rate = port, path, body, rate
        self.headers = base_headers(token)
        self.threads = threads
        self.prefix = f"load{secrets.token_hex(3)}"
        self.samples: list[Sample] = []
        self.late = 0
        self._due: queue.Queue[tuple[int, float] | None] = queue.Queue()
        self._stop = threading.Event()
        self._pool: list[threading.Thread] = []
        self._pacer: threading.Thread | None = None
        self._offset = time.time() - time.perf_counter()  # perf_counter -> wall clock

    def start(self) -> PacedLoad:
        self._pool = [
            threading.Thread(target=self._worker, args=(n,), daemon=True)
            for n in range(self.threads)
        ]
        for thread in self._pool:
            thread.start()
        self._pacer = threading.Thread(target=self._pace, daemon=True)
        self._pacer.start()
        return self

    @property
    def running(self) -> bool:
        return not self._stop.is_set()

    def stop(self) -> list[Sample]:
        self._stop.set()
        if self._pacer is not None:
            self._pacer.join()
        for _ in self._pool:
            self._due.put(None)
        for thread in self._pool:
            thread.join(timeout=30)
        return self.samples

    def _pace(self) -> None:
        start = time.perf_counter() + 0.05
        index = 0
        while not self._stop.is_set():
            due = start + index / self.rate
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            elif pause < -0.001:
                self.late += 1
            self._due.put((index, due))
            index += 1

    def _worker(self, worker_id: int) -> None:
        conn = http.client.HTTPConnection(HOST, self.port, timeout=10)
        used = 0
        while (item := self._due.get()) is not None:
            index, due = item
            key = f"{self.prefix}-w{worker_id}-{index}-{secrets.token_hex(4)}"
            headers = {**self.headers, "Idempotency-Key": key, "X-Gitlab-Event-UUID": key}
            for attempt in (1, 2):
                try:
                    conn.request("POST", self.path, body=self.body, headers=headers)
                    response = conn.getresponse()
                    response.read()
                    done = time.perf_counter()
                    used += 1
                    latency = (done - due) * 1000
                    self.samples.append(Sample(due + self._offset, latency, response.status))
                    break
                except Exception as exc:
                    conn.close()
                    conn = http.client.HTTPConnection(HOST, self.port, timeout=10)
                    # A kept-alive connection the server closed: not processed, send it again.
                    if attempt == 1 and used and isinstance(exc, RETRYABLE):
                        used = 0
                        continue
                    self.samples.append(Sample(due + self._offset, 0.0, 0, type(exc).__name__))
                    break
        conn.close()


def window(samples: list[Sample], start: float, end: float) -> dict:
    """Figures of the requests due in [start, end)."""
    inside = [s for s in samples if start <= s.due < end]
    answered = [s for s in inside if s.status]
    stats = summary(s.latency_ms for s in answered)
    seconds = max(1e-9, end - start)
    return {
        "seconds": round(end - start, 2),
        "requests": len(inside),
        "rps": len(answered) / seconds,
        "ok2xx": sum(1 for s in answered if 200 <= s.status < 300),
        "non2xx": sum(1 for s in answered if not 200 <= s.status < 300),
        "errors": len(inside) - len(answered),
        **{f"{k}_ms": v for k, v in stats.items() if k != "n"},
        "p90_ms": ingest.percentile(sorted(s.latency_ms for s in answered), 90),
    }


# --- Main --------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=20_000, help="seeded final jobs")
    parser.add_argument("--events-per-job", type=int, default=60, help="JobEvent rows per job")
    parser.add_argument("--tool-calls", type=int, default=5, help="ToolCall rows per job")
    parser.add_argument("--old-share", type=float, default=0.8, help="share older than 30 days")
    parser.add_argument("--rate", type=float, default=100, help="webhook requests/s")
    parser.add_argument("--baseline-seconds", type=float, default=20)
    parser.add_argument("--after-seconds", type=float, default=10)
    parser.add_argument("--client-threads", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker")
    parser.add_argument("--batch-size", type=int, default=None, help="default: the purge's own")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    if not 0 < args.old_share < 1:
        parser.error("--old-share must be between 0 and 1")
    return args


def start_purge(env: dict[str, str], batch_size: int | None) -> subprocess.Popen:
    args = [sys.executable, "-c", PURGE_RUNNER] + ([str(batch_size)] if batch_size else [])
    proc = subprocess.Popen(
        args,
        cwd=common.ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    line = proc.stdout.readline().strip()
    if line != "READY":
        proc.kill()
        raise RuntimeError(f"the purge process did not start: {line}\n{proc.stderr.read()}")
    return proc


def fmt_window(name: str, w: dict) -> list:
    return [
        name,
        f"{w['seconds']:.1f}",
        f"{w['rps']:.1f}",
        f"{w['p50_ms']:.2f}",
        f"{w['p90_ms']:.2f}",
        f"{w['p99_ms']:.2f}",
        f"{w['max_ms']:.2f}",
        f"{w['ok2xx']:,}",
        f"{w['non2xx'] + w['errors']:,}",
        f"{w['cores']['machine']:.2f} ({w['cores']['ours']:.2f} + {w['cores']['others']:.2f})",
    ]


def main() -> int:
    args = parse_args()
    common.stop_on_signals()
    var_dir = Path(tempfile.mkdtemp(prefix="mate-bench-purge-"))
    env = common.bench_env(var_dir, DB_NAME, MATE_RETENTION_DAYS=str(RETENTION_DAYS))
    server = ingest.Server(env, var_dir / "gunicorn.log", args.workers, args.threads)
    purge: subprocess.Popen | None = None
    loads: list[PacedLoad] = []
    try:
        print(f"setting up: database {DB_NAME}, Redis db 15, MATE_VAR_DIR={var_dir}", flush=True)
        ingest.flush_redis()
        common.recreate_database(DB_NAME)
        common.migrate(env)
        tenant = json.loads(
            ingest.run_checked([sys.executable, "-c", ingest.CREATE_TENANT], env, "create tenant")
            .strip()
            .splitlines()[-1]
        )
        events = args.jobs * args.events_per_job
        print(
            f"seeding {args.jobs:,} jobs x {args.events_per_job} events = {events:,} JobEvent "
            f"rows, {args.old_share:.0%} older than {RETENTION_DAYS} days ...",
            flush=True,
        )
        started = time.perf_counter()
        seed_timings = seed(tenant["uid"], args)
        seed_seconds = time.perf_counter() - started
        print(
            f"  seeded in {seed_seconds:.1f} s ("
            + ", ".join(f"{k} {v:.1f} s" for k, v in seed_timings.items())
            + ")",
            flush=True,
        )

        body = json.dumps(ingest.issue_hook()).encode()
        server.start()
        for note in ingest.sanity_checks(server.port, tenant["uid"], tenant["secret"], body):
            print(f"  ok: {note}", flush=True)
        path = ingest.TARGETS["webhook"][0].format(tenant=tenant["uid"])

        def load() -> PacedLoad:
            loads.append(
                PacedLoad(
                    server.port, path, tenant["secret"], body, args.rate, args.client_threads
                ).start()
            )
            return loads[-1]

        print(f"\nwarm-up: 3 s at {args.rate:g}/s", flush=True)
        warm = load()
        time.sleep(3)
        warm.stop()

        def roots() -> list[int]:
            alive = [p.pid for p in (server.proc, purge) if p is not None and p.poll() is None]
            return alive

        meter = CpuMeter(DB_NAME, roots)
        print(f"baseline: {args.baseline_seconds:g} s at {args.rate:g}/s, no purge", flush=True)
        base = load()
        t0, cpu0 = time.time(), meter.snapshot()
        time.sleep(args.baseline_seconds)
        t1, cpu1 = time.time(), meter.snapshot()
        base_window = window(base.stop(), t0, t1)
        base_window["cores"] = meter.cores(cpu0, cpu1)

        print(f"purge: load at {args.rate:g}/s, purge_old_data() starts after 2 s", flush=True)
        purge = start_purge(env, args.batch_size)
        before = count_rows(time.time())  # right before, so that the cut-off barely moves
        print(
            "  rows older than the cut-off / recent: "
            + ", ".join(f"{k} {v['old']:,}/{v['new']:,}" for k, v in before.items()),
            flush=True,
        )
        during = load()
        time.sleep(2)
        cpu0 = meter.snapshot()
        purge.stdin.write("go\n")
        purge.stdin.flush()
        out, err = purge.communicate(timeout=3600)
        cpu1 = meter.snapshot()
        if purge.returncode != 0:
            raise RuntimeError(f"the purge failed ({purge.returncode}):\n{err[-3000:]}")
        purged = json.loads(out.strip().splitlines()[-1])
        time.sleep(0.5)
        samples = during.stop()
        purge_window = window(samples, purged["start"], purged["end"])
        # The purge's backend ended with it, unseen by the second snapshot: add its own figure.
        purge_window["cores"] = meter.cores(cpu0, cpu1, purged.get("backend_cpu_s") or 0.0)

        print(f"after: {args.after_seconds:g} s at {args.rate:g}/s, purge done", flush=True)
        after = load()
        t0, cpu0 = time.time(), meter.snapshot()
        time.sleep(args.after_seconds)
        t1, cpu1 = time.time(), meter.snapshot()
        after_window = window(after.stop(), t0, t1)
        after_window["cores"] = meter.cores(cpu0, cpu1)

        # --- checks
        time.sleep(1)
        remaining = count_rows(purged["start"])
        result = purged["result"]
        rows = sum(v for k, v in result.items() if k != "batches")
        rows_per_s = rows / purged["seconds"] if purged["seconds"] else 0.0
        checks = {
            "old_rows_left": sum(v["old"] for v in remaining.values()),
            "recent_job_events_kept": remaining["job_events"]["new"] == before["job_events"]["new"],
            "purged_matches_old_rows": all(
                result[k] == before[k]["old"] for k in TABLES if k in result
            ),
        }
        ok2xx = sum(1 for load_run in loads for s in load_run.samples if 200 <= s.status < 300)
        stored = sum(count_load_deliveries(load_run.prefix) for load_run in loads)
        checks["load_2xx"], checks["load_deliveries_stored"] = ok2xx, stored

        # --- report
        rise = purge_window["p99_ms"] / base_window["p99_ms"] - 1 if base_window["p99_ms"] else None
        print(
            f"\npurge: {rows:,} rows in {purged['seconds']:.1f} s = {rows_per_s:,.0f} rows/s "
            f"({result['batches']:,} batches); "
            + ", ".join(f"{k} {v:,}" for k, v in result.items() if k != "batches")
        )
        cpu = purged.get("backend_cpu_s")
        print(
            f"purge CPU: Python {purged['python_cpu_s']:.1f} s, PostgreSQL backend "
            + (f"{cpu:.1f} s" if cpu is not None else "n/a")
            + f" (of {purged['seconds']:.1f} s wall; {os.cpu_count()} CPUs in all)"
        )
        print(
            f"checks: rows older than the cut-off left {checks['old_rows_left']}; recent "
            f"events all kept: {checks['recent_job_events_kept']}; purged counts = seeded old "
            f"rows: {checks['purged_matches_old_rows']}; load 2xx {ok2xx:,} / Delivery rows "
            f"{stored:,}"
        )
        print(f"\nwebhook at {args.rate:g}/s (open loop; ms from the moment a request was due):\n")
        header = ["window", "s", "req/s", "p50", "p90", "p99", "max", "2xx", "failed"]
        header += ["busy cores: machine (bench + other work)"]
        print(
            markdown_table(
                header,
                [
                    fmt_window("baseline (no purge)", base_window),
                    fmt_window("during the purge", purge_window),
                    fmt_window("after the purge", after_window),
                ],
            )
        )
        rise_text = f"{rise:+.0%}" if rise is not None else "n/a"
        print(
            "\n"
            + markdown_table(
                ["target (issue)", "wanted", "measured", "met"],
                [
                    [
                        "purge rate",
                        f">= {TARGET_ROWS_PER_S:,} rows/s",
                        f"{rows_per_s:,.0f} rows/s",
                        "yes" if rows_per_s >= TARGET_ROWS_PER_S else "no",
                    ],
                    [
                        "web p99 during the purge vs baseline",
                        f"<= +{TARGET_P99_RISE:.0%}",
                        rise_text,
                        "yes" if rise is not None and rise <= TARGET_P99_RISE else "no",
                    ],
                ],
            )
            + "\n"
        )
        late = sum(load_run.late for load_run in loads)
        if late:
            print(f"note: the load's pacer fell behind {late} times (client saturated)")

        def rounded(w: dict) -> dict:
            out = {k: round(v, 3) if isinstance(v, float) else v for k, v in w.items()}
            out["cores"] = {k: round(v, 2) for k, v in w["cores"].items()}
            return out

        figures = {
            "benchmark": "purge",
            "cpus": os.cpu_count(),
            "seeded": {
                "jobs": args.jobs,
                "events_per_job": args.events_per_job,
                "tool_calls_per_job": args.tool_calls,
                "old_share": args.old_share,
                "rows_before": before,
                "seconds": round(seed_seconds, 1),
            },
            "purge": {
                "rows": rows,
                "seconds": round(purged["seconds"], 2),
                "rows_per_s": round(rows_per_s),
                "counts": result,
                "python_cpu_s": round(purged["python_cpu_s"], 2),
                "backend_cpu_s": None if cpu is None else round(cpu, 2),
                "batch_size": args.batch_size or "default",
            },
            "rate": args.rate,
            "web": {
                "baseline": rounded(base_window),
                "during_purge": rounded(purge_window),
                "after_purge": rounded(after_window),
            },
            "p99_rise": None if rise is None else round(rise, 3),
            "targets": {
                "rows_per_s": TARGET_ROWS_PER_S,
                "p99_rise": TARGET_P99_RISE,
                "rows_per_s_met": rows_per_s >= TARGET_ROWS_PER_S,
                "p99_met": rise is not None and rise <= TARGET_P99_RISE,
            },
            "checks": checks,
            "pacer_late": late,
        }
        if args.json:
            args.json.write_text(json.dumps(figures, indent=2) + "\n")
        print(json.dumps(figures, separators=(",", ":")), flush=True)
        return 0
    except KeyboardInterrupt:
        print("\ninterrupted; cleaning up", file=sys.stderr, flush=True)
        return 130
    finally:

        def stop_purge() -> None:
            if purge is not None and purge.poll() is None:
                purge.kill()
                purge.wait(timeout=10)

        def stop_loads() -> None:
            for load_run in loads:
                if load_run.running:
                    load_run.stop()

        common.clean_up(
            [
                ("stop purge", stop_purge),
                ("stop load", stop_loads),
                ("stop gunicorn", server.stop),
                ("drop database", lambda: common.drop_database(DB_NAME)),
                ("flush Redis", ingest.flush_redis),
                ("remove temp dir", lambda: shutil.rmtree(var_dir, ignore_errors=True)),
            ]
        )


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Interrupted:
        sys.exit(130)
