"""Runs the benchmarks (ingest, dispatch, tool call, config resolve, purge) and writes one Markdown
report: each figure beside its side-by-side baseline, their ratio or difference, the issue's
target and whether it was met.

Run: ``.venv/bin/python bench/report.py [--only NAME[,NAME]] [--quick] [--out bench/REPORT.md]``

Each bench runs as its own subprocess with the venv's Python and ``--json`` into a temp dir, so a
bench that fails becomes a failed row (with the tail of its stderr) and the others still run.
``--quick`` passes short durations to every bench: a smoke check of a few minutes whose figures
are too small a sample to judge by. The needs are the benches' own (see each bench's docstring):
PostgreSQL and Redis on loopback, ``wrk`` for ingest, a Docker engine and the image
``mate-test-agent:latest`` for dispatch. Turning figures into rows is ``bench/report_table.py``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import report_table
from report_table import Run, Section

ROOT = Path(__file__).resolve().parents[1]
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"

# name -> (script, extra arguments for --quick); the full run uses each bench's defaults.
BENCHES: dict[str, tuple[str, list[str]]] = {
    "ingest": ("bench/ingest.py", ["--seconds", "3", "--warmup", "1"]),
    "dispatch": ("bench/dispatch.py", ["--events", "10", "--warmup", "2"]),
    "tool_call": ("bench/tool_call.py", ["--calls", "30", "--warmup", "5"]),
    "config_resolve": ("bench/config_resolve.py", ["--runs", "5"]),
    "purge": (
        "bench/purge.py",
        ["--jobs", "2000", "--baseline-seconds", "5", "--after-seconds", "3"],
    ),
}
TIMEOUT_S = {"quick": 600, "full": 3600}  # per bench
TAIL_LINES = 25


def python() -> str:
    return str(VENV_PYTHON if VENV_PYTHON.exists() else Path(sys.executable))


def bench_env() -> dict[str, str]:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    # The benches choose their own databases; tool_call would migrate a DATABASE_URL it inherits.
    env.pop("DATABASE_URL", None)
    return env


def tail(path: Path, lines: int = TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.rstrip().splitlines()[-lines:])


def stop(proc: subprocess.Popen) -> None:
    """SIGTERM to the bench's process group (the benches clean up on it), SIGKILL after 90 s."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=90)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def run_bench(name: str, quick: bool, work: Path) -> tuple[Run, dict | None, str]:
    """Run one bench; returns how it ran, its figures (None when it failed) and why it failed."""
    script, quick_args = BENCHES[name]
    out_json = work / f"{name}.json"
    args = [python(), script, *(quick_args if quick else []), "--json", str(out_json)]
    shown = shlex.join([".venv/bin/python", script, *(quick_args if quick else [])])
    shown += f" --json $TMP/{out_json.name}"
    stdout, stderr = work / f"{name}.out", work / f"{name}.err"
    print(f"[report] {name}: {shown}", file=sys.stderr, flush=True)
    started = time.monotonic()
    with stdout.open("wb") as out, stderr.open("wb") as err:
        # Own session: Ctrl-C reaches the report only, which then stops the bench cleanly.
        proc = subprocess.Popen(
            args, cwd=ROOT, env=bench_env(), stdout=out, stderr=err, start_new_session=True
        )
        timeout = TIMEOUT_S["quick" if quick else "full"]
        try:
            proc.wait(timeout=timeout)
            why = ""
        except subprocess.TimeoutExpired:
            stop(proc)
            why = f"timed out after {timeout} s"
        except KeyboardInterrupt:
            stop(proc)
            raise
    run = Run(name, shown, time.monotonic() - started, proc.returncode)
    figures = None
    if not why and proc.returncode != 0:
        why = f"exit code {proc.returncode}"
    if not why:
        try:
            figures = json.loads(out_json.read_text())
        except (OSError, ValueError) as exc:
            why = f"no JSON figures ({type(exc).__name__}: {exc})"
    if why:
        output = tail(stderr) or tail(stdout)
        why += "\n" + (output or "(no output)")
    print(f"[report] {name}: {'ok' if not why else why.splitlines()[0]} "
          f"({run.seconds:.0f} s)", file=sys.stderr, flush=True)  # fmt: skip
    return run, figures, why


def machine_header(argv: list[str], quick: bool, loads: tuple[str, str]) -> dict[str, str]:
    version = subprocess.run(
        [python(), "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    mode = "quick smoke check (short runs: too few samples to judge by)" if quick else "full"
    return {
        "date": now,
        "machine": f"{os.cpu_count()} cores, Linux {platform.release()}, Python {version or '?'}",
        "command": f"`{shlex.join(argv)}`",
        "mode": mode,
        "noise": (
            "the machine is shared with other work while the benches run, so figures are noisy; "
            f"load average (1 min) {loads[0]} at the start, {loads[1]} at the end. The benches' "
            "own load generators share the same cores."
        ),
    }


def load_average() -> str:
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "?"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help=f"comma-separated, of: {', '.join(BENCHES)}")
    parser.add_argument("--quick", action="store_true", help="short runs, a smoke check")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "REPORT.md")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.only.split(",") if n.strip()] if args.only else []
    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        parser.error(f"unknown bench {', '.join(unknown)}; choose from {', '.join(BENCHES)}")
    args.names = names or list(BENCHES)
    return args


def _interrupt(signum, _frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    for sig in (signal.SIGTERM, signal.SIGHUP):  # like Ctrl-C: the running bench is stopped too
        signal.signal(sig, _interrupt)
    start_load = load_average()
    sections: dict[str, Section] = {}
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="mate-bench-report-") as tmp:
        try:
            for name in args.names:
                run, figures, why = run_bench(name, args.quick, Path(tmp))
                runs.append(run)
                sections[name] = report_table.section(name, figures, why)
        except KeyboardInterrupt:
            print("[report] interrupted; no report written", file=sys.stderr)
            return 130
    exe = Path(sys.executable)
    shown_exe = str(exe.relative_to(ROOT)) if exe.is_relative_to(ROOT) else str(exe)
    command = [shown_exe, "bench/report.py", *argv]
    header = machine_header(command, args.quick, (start_load, load_average()))
    text = report_table.document(header=header, sections=sections, runs=runs)
    args.out.write_text(text)
    print(text)
    print(f"[report] written to {args.out}", file=sys.stderr)
    failed = report_table.count_met(sections)[2]
    return 1 if failed else 0  # a missed target is a figure to read, not an error


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
