"""Helpers shared by ``bench/dispatch.py`` and ``bench/purge.py``.

Builds on ``bench/ingest.py`` (its environment, gunicorn ``Server``, Redis flush, percentiles),
adding what those two need on top: a database of their own name, Django set up in the bench
process itself, background processes stopped by their own process group, a clean-up that runs
every step even when one fails, and small statistics and Markdown helpers.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import ingest
import psycopg
from ingest import ADMIN_DSN, ROOT, Interrupted, percentile

__all__ = [
    "ROOT",
    "Interrupted",
    "Process",
    "bench_env",
    "clean_up",
    "database_url",
    "drop_database",
    "markdown_table",
    "migrate",
    "recreate_database",
    "setup_django",
    "stop_on_signals",
    "summary",
]


def _raise_interrupted(signum, _frame):
    raise Interrupted(f"signal {signum}")


def stop_on_signals() -> None:
    """SIGTERM and SIGHUP behave like Ctrl-C, so that the clean-up runs."""
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _raise_interrupted)


# --- Database and environment ------------------------------------------------------------------


def database_url(name: str) -> str:
    return f"postgres://root@127.0.0.1:5432/{name}"


def recreate_database(name: str) -> None:
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")


def drop_database(name: str) -> None:
    with contextlib.suppress(Exception):  # Django's own connections go first, if it is loaded
        from django.db import connections

        connections.close_all()
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def bench_env(var_dir: Path, db_name: str, **extra: str) -> dict[str, str]:
    """The ingest bench's environment (production-like, Redis db 15, WARNING logs) with this
    bench's own database and ``extra`` on top."""
    env = ingest.child_env(var_dir)
    env["DATABASE_URL"] = database_url(db_name)
    env.update(extra)
    return env


def migrate(env: dict[str, str]) -> None:
    ingest.run_checked([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], env, "migrate")


def setup_django(env: dict[str, str]) -> None:
    """Django in this process, with the same environment as the servers it starts."""
    os.environ.update(env)
    for path in (str(ROOT), str(ROOT / "bench")):
        if path not in sys.path:
            sys.path.insert(0, path)
    import django

    django.setup()


# --- Background processes ----------------------------------------------------------------------


class Process:
    """A background process in its own session (Ctrl-C reaches the bench only), logging to a
    file; ``stop`` sends SIGTERM to its process group and SIGKILL after ``grace`` seconds."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_path: Path) -> None:
        self.name, self.args, self.env, self.log_path = name, args, env, log_path
        self.proc: subprocess.Popen | None = None

    def start(self) -> Process:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            self.args,
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait_for_log(self, needle: str, timeout: float) -> None:
        """Until ``needle`` appears in the log (RuntimeError when the process dies or times out)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if needle in self.log_path.read_text(errors="replace"):
                return
            if not self.alive():
                raise RuntimeError(f"{self.name} exited:\n{self.log_tail()}")
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} not ready within {timeout:.0f} s:\n{self.log_tail()}")

    def stop(self, grace: float = 20) -> None:
        if not self.alive():
            return
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def clean_up(steps: Iterable[tuple[str, Callable[[], object]]]) -> None:
    """Run every step (a failure is printed, never stops the others), deaf to further Ctrl-C."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for name, step in steps:
        try:
            step()
        except Exception as exc:
            print(f"clean-up step {name} failed: {exc}", file=sys.stderr, flush=True)


# --- CPU ---------------------------------------------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _proc_stat(pid: int | str) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


class CpuMeter:
    """Busy CPU of the machine against the bench's own share (Linux /proc), per time window.

    Ours: this process and its waited-for children (``os.times``), the processes ``roots()``
    returns with their children, and the PostgreSQL backends of ``db_name``. Others: the rest of
    the machine (other work, Redis, the Docker daemon), the noise to read the figures against.
    A process that ends inside a window (other than a waited-for child) loses its share.
    """

    def __init__(self, db_name: str, roots: Callable[[], Iterable[int]]) -> None:
        self.db_name, self.roots = db_name, roots

    def snapshot(self) -> dict[str, float]:
        times = os.times()
        own = times.user + times.system + times.children_user + times.children_system
        roots = set(self.roots())
        cpu = 0.0
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = _proc_stat(entry.name)
                pid, parent = int(entry.name), int(fields[1])
                ours = pid in roots or parent in roots
                if not ours and f" {self.db_name} " in (entry / "cmdline").read_bytes().decode(
                    errors="replace"
                ):
                    ours = True
                if ours:
                    cpu += (int(fields[11]) + int(fields[12])) / _TICK
            except (OSError, ValueError, IndexError):
                continue
        try:
            values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
            machine = (sum(values[:8]) - values[3] - values[4]) / _TICK
        except (OSError, ValueError):
            machine = 0.0
        return {"wall": time.monotonic(), "ours": own + cpu, "machine": machine}

    @staticmethod
    def cores(before: dict, after: dict, extra_ours: float = 0.0) -> dict[str, float]:
        """Average busy cores between two snapshots: machine, ours, others. ``extra_ours``:
        CPU seconds of ours that ended unseen inside the window (known some other way)."""
        wall = max(1e-9, after["wall"] - before["wall"])
        machine = (after["machine"] - before["machine"]) / wall
        ours = (after["ours"] - before["ours"] + extra_ours) / wall
        return {"machine": machine, "ours": ours, "others": max(0.0, machine - ours)}


# --- Figures -----------------------------------------------------------------------------------


def summary(values: Iterable[float]) -> dict[str, float]:
    """count, p50, p95, p99, max and mean of ``values`` (nearest-rank percentiles)."""
    ordered = sorted(values)
    if not ordered:
        return {"n": 0, "p50": 0.0, "p95": 0.0, "p99": 0.0, "max": 0.0, "mean": 0.0}
    return {
        "n": len(ordered),
        "p50": percentile(ordered, 50),
        "p95": percentile(ordered, 95),
        "p99": percentile(ordered, 99),
        "max": ordered[-1],
        "mean": sum(ordered) / len(ordered),
    }


def markdown_table(header: list[str], rows: list[list[object]], right_from: int = 1) -> str:
    """A Markdown table; columns from ``right_from`` on are right-aligned."""
    align = ["---" if i < right_from else "---:" for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)
