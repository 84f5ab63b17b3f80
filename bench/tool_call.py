"""Benchmark of one tool call through the tool service against the same call made directly to
the GitLab simulator, in the same run (DESIGN §6).

Run: ``.venv/bin/python bench/tool_call.py [--calls 300] [--json PATH]``

What it does, all on loopback:

1. starts the GitLab simulator in this process and seeds a project, an issue and a bot whose PAT
   is registered with a tenant; migrates a fresh SQLite database in a temp ``MATE_VAR_DIR``
   (or uses ``--database-url``);
2. creates a RUNNING job with ``read`` and ``comment``, issues its job credential and mints its
   per-job key at the simulator (``jobs.credentials``), exactly as dispatch does;
3. starts gunicorn (2 gthread workers, 4 threads) serving ``bench/tool_call_wsgi.py``;
4. measures, one call at a time after a warm-up, for a read (``get_issue``) and a write
   (``create_issue_note``):
   - ``direct``: python-gitlab with the per-job key straight to the simulator, a new client per
     call (the GitLab work the tool does, without Mate);
   - ``rest``: ``POST /tools/<name>`` with the job credential;
   - ``mcp``: ``POST /mcp`` ``tools/call``, as claude-code sends it;
5. prints a Markdown table (p50, p90, p99, mean in ms), the overhead of each transport over the
   direct call at p50 and p99, and the figures as JSON on the last line.

The overhead is the tool service's own work per call: authentication (hash look-up), authority
and schema checks, the per-job client (key look-up and decryption), outbound redaction for writes,
the audit row and the timeline event. Timings stay out of the test suite.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def summarize(samples: list[float]) -> dict[str, float]:
    return {
        "p50": percentile(samples, 50),
        "p90": percentile(samples, 90),
        "p99": percentile(samples, 99),
        "mean": statistics.fmean(samples),
    }


def measure(fn: Callable[[], None], calls: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def prepare_environment(var_dir: Path, database_url: str | None) -> None:
    os.environ["MATE_VAR_DIR"] = str(var_dir)
    os.environ["MATE_ALLOW_PRIVATE_GITLAB"] = "1"
    os.environ["DJANGO_SETTINGS_MODULE"] = "mate.settings"
    os.environ.pop("REDIS_URL", None)
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def seed(sim) -> dict:
    """A tenant, its bot, a running job with a credential and a per-job key."""
    from jobs import credentials
    from jobs.models import Job, JobStatus
    from tenants.models import Bot, Tenant

    bot_user = sim.add_user("mate-bot")
    pat = sim.add_pat(bot_user, scopes=["api"])
    project = sim.add_project("acme/widget", members={bot_user: 40})
    sim.add_issue(project, "Login is broken", "Steps: open /login", author=bot_user)
    tenant = Tenant(name="Bench", gitlab_url=sim.url)
    tenant.set_secret("webhook_secret", "bench-hook-secret-0123456789")
    tenant.set_secret("llm_key", "bench-llm-key-0123456789")
    tenant.save()
    bot = Bot(tenant=tenant, gitlab_user_id=bot_user.id, username="mate-bot", scopes=["api"])
    bot.set_secret("token", pat)
    bot.save()
    job = Job.objects.create(
        tenant=tenant,
        event_key=uuid.uuid4().hex,
        event="issue_assigned",
        bot_username="mate-bot",
        agent="bench",
        trigger="tenant[0]",
        project_id=project.id,
        project_path=project.path_with_namespace,
        object_kind="issue",
        object_iid=1,
        loop_key="issue/1",
        status=JobStatus.RUNNING,
        snapshot={
            "authorities": ["read", "comment"],
            "project": {"id": project.id, "path": project.path_with_namespace},
            "object": {"kind": "issue", "iid": 1, "pipeline_id": None},
            "event": {"project_default_branch": "main"},
            "timeout_seconds": 3600,
        },
    )
    token = credentials.issue_job_credential(job)
    key = credentials.mint_gitlab_key(job).reveal_secret("value")
    return {"token": token, "key": key, "project_id": project.id}


@contextlib.contextmanager
def gunicorn(port: int, env: dict):
    process = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "tool_call_wsgi:application",
            "--pythonpath",
            f"{ROOT / 'bench'},{ROOT}",
            "--bind",
            f"{HOST}:{port}",
            "--workers",
            "2",
            "--threads",
            "4",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(requests.RequestException):
                requests.get(f"http://{HOST}:{port}/healthz", timeout=1)
                break
            if process.poll() is not None:
                raise SystemExit("gunicorn exited during start-up")
            time.sleep(0.2)
        yield f"http://{HOST}:{port}"
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


def callers(base: str, sim_url: str, world: dict) -> dict[str, Callable[[], None]]:
    import gitlab

    def project():
        # A new client (and connection) per call, as the tool service makes one per call. A
        # kept-alive connection to the simulator meets its unbuffered writes and the client's
        # delayed ACK (about 40 ms per call), which would only measure the simulator.
        direct = gitlab.Gitlab(sim_url, private_token=world["key"])
        return direct.projects.get(world["project_id"], lazy=True)

    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {world['token']}"
    mcp_headers = {"Accept": "application/json, text/event-stream"}

    def rest(name: str, arguments: dict) -> Callable[[], None]:
        def run() -> None:
            response = session.post(f"{base}/tools/{name}", json=arguments, timeout=30)
            response.raise_for_status()

        return run

    def mcp(name: str, arguments: dict) -> Callable[[], None]:
        message = {"jsonrpc": "2.0", "id": 1, "method": "tools/call"}
        message["params"] = {"name": name, "arguments": arguments}

        def run() -> None:
            response = session.post(f"{base}/mcp", json=message, headers=mcp_headers, timeout=30)
            if response.json()["result"]["isError"]:
                raise RuntimeError(response.text)

        return run

    note = {"body": "Benchmark note."}
    return {
        "get_issue/direct": lambda: project().issues.get(1),
        "get_issue/rest": rest("get_issue", {"iid": 1}),
        "get_issue/mcp": mcp("get_issue", {"iid": 1}),
        "create_issue_note/direct": lambda: project().issues.get(1, lazy=True).notes.create(note),
        "create_issue_note/rest": rest("create_issue_note", note),
        "create_issue_note/mcp": mcp("create_issue_note", note),
    }


def report(results: dict[str, dict[str, float]], calls: int) -> dict:
    print(f"\n{calls} sequential calls each (ms)\n")
    print("| call | p50 | p90 | p99 | mean |")
    print("|---|---:|---:|---:|---:|")
    for name, row in results.items():
        print(
            f"| {name} | {row['p50']:.2f} | {row['p90']:.2f} | {row['p99']:.2f} | {row['mean']:.2f} |"
        )
    overhead = {}
    for name in results:
        tool, transport = name.split("/")
        if transport == "direct":
            continue
        base = results[f"{tool}/direct"]
        overhead[name] = {
            "p50": results[name]["p50"] - base["p50"],
            "p99": results[name]["p99"] - base["p99"],
        }
    print("\n| overhead over direct | p50 | p99 |\n|---|---:|---:|")
    for name, row in overhead.items():
        print(f"| {name} | +{row['p50']:.2f} | +{row['p99']:.2f} |")
    return {"calls": calls, "latency_ms": results, "overhead_ms": overhead}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temp dir")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    var_dir = Path(tempfile.mkdtemp(prefix="mate-bench-tools-"))
    try:
        prepare_environment(var_dir, args.database_url)
        from tests.gitlab_sim import GitLabSim

        with GitLabSim() as sim:
            sim.deliver_api_events = False
            world = seed(sim)
            with gunicorn(free_port(), dict(os.environ)) as base:
                results = {
                    name: summarize(measure(fn, args.calls, args.warmup))
                    for name, fn in callers(base, sim.url, world).items()
                }
        figures = report(results, args.calls)
        print(json.dumps(figures))
        if args.json:
            args.json.write_text(json.dumps(figures, indent=2))
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
