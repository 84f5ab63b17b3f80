"""The pure part of ``bench/report.py``: each bench's JSON figures turned into rows (Mate's figure,
its side-by-side baseline, their ratio or difference, the issue's target and whether it was met),
and the rows into one Markdown table and a list of misses. No I/O, no clock.

Targets (the issue, 2-core machine): webhook ingest p99 <= 50 ms at 100/s and >= 300 webhooks/s
sustained; dispatch p95 <= bare ``docker run`` + 1 s; tool-call overhead over the direct simulator
call p50 <= 10 ms and p99 <= 50 ms; config resolve <= 10 ms for the realistic config; purge
>= 5,000 rows/s with the web p99 raised by <= 20 %.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

RATIO, DIFFERENCE = "ratio", "difference"


@dataclass(frozen=True)
class Target:
    """``value <op> limit``, checked on Mate's figure (``on="mate"``) or on the comparison with
    the baseline (``on="compare"``: the ratio or the difference)."""

    op: str  # "<=" or ">="
    limit: float
    on: str = "mate"

    def met(self, value: float | None) -> bool | None:
        if value is None:
            return None
        if self.op == "<=":
            return value <= self.limit
        if self.op == ">=":
            return value >= self.limit
        raise ValueError(f"unknown target operator {self.op!r}")


@dataclass(frozen=True)
class Row:
    bench: str
    figure: str
    unit: str  # "ms", "/s", "rows/s"
    mate: float | None
    baseline: float | None = None
    baseline_name: str = ""
    compare: str | None = None  # RATIO, DIFFERENCE or None
    target: Target | None = None
    failed: str = ""  # set for a bench that produced no figures: why

    @property
    def compared(self) -> float | None:
        """Mate / baseline (RATIO) or Mate - baseline (DIFFERENCE); None when not computable."""
        if self.compare is None or self.mate is None or self.baseline is None:
            return None
        if self.compare == RATIO:
            return self.mate / self.baseline if self.baseline else None
        if self.compare == DIFFERENCE:
            return self.mate - self.baseline
        raise ValueError(f"unknown comparison {self.compare!r}")

    @property
    def checked(self) -> float | None:
        if self.target is None:
            return None
        return self.compared if self.target.on == "compare" else self.mate

    @property
    def met(self) -> bool | None:
        """True/False against the target; None without a target or without a figure to check."""
        if self.failed or self.target is None:
            return None
        return self.target.met(self.checked)


# --- Per bench: figures -> rows and notes ---------------------------------------------------------


@dataclass
class Section:
    rows: list[Row]
    notes: list[str] = field(default_factory=list)  # measured context, from the figures


def ingest_rows(f: dict) -> Section:
    by = {(r["target"], r["mode"]): r for r in f["results"]}
    rate = f.get("rate", 100)

    def ok_per_s(r: dict) -> float:
        """2xx answers per second (requests/s counts every answer, failures too)."""
        return r["rps"] * r["ok2xx"] / r["requests"] if r["requests"] else 0.0

    hook_max, hook_rate = by[("webhook", "max")], by[("webhook", "rate")]
    base_max, base_rate = by[("bare-django", "max")], by[("bare-django", "rate")]
    bare = "bare Django view"
    rows = [
        Row("ingest", f"webhook p99 at {rate:g}/s", "ms", hook_rate["p99_ms"],
            base_rate["p99_ms"], bare, RATIO, Target("<=", 50)),
        Row("ingest", f"webhook p50 at {rate:g}/s", "ms", hook_rate["p50_ms"],
            base_rate["p50_ms"], bare, RATIO),
        Row("ingest", "webhooks/s sustained (2xx, wrk max)", "/s", ok_per_s(hook_max),
            ok_per_s(base_max), bare, RATIO, Target(">=", 300)),
    ]  # fmt: skip
    notes = []
    for r in (hook_max, hook_rate):
        failed = r["non2xx"] + sum(r["errors"].values())
        if failed:
            notes.append(
                f"webhook {r['mode']} run: {failed:,} of {r['requests']:,} requests not 2xx"
            )
    if hook_rate["rps"] < 0.95 * rate:
        notes.append(f"the {rate:g}/s run was answered at {hook_rate['rps']:,.1f}/s only")
    if hook_rate.get("pacer_late"):
        notes.append(f"the {rate:g}/s client's pacer fell behind {hook_rate['pacer_late']:,} times")
    bare_wsgi = by.get(("bare", "max"))
    if bare_wsgi:
        notes.append(f"plain WSGI 'ok' (no Django) sustained {ok_per_s(bare_wsgi):,.0f}/s")
    notes += _other_cores({f"{t} {m} run": by[(t, m)].get("other_cores") for t, m in by})
    return Section(rows, notes)


def dispatch_rows(f: dict) -> Section:
    mate, bare = f["mate_received_to_running_ms"], f["bare_docker_run_to_running_ms"]
    quiet = f.get("mate_without_gitlab_http_ms", {})
    name = "bare `docker run -d` → Running"
    rows = [
        Row("dispatch", "webhook received → container running, p95", "ms", mate["p95"],
            bare["p95"], name, DIFFERENCE, Target("<=", 1000, on="compare")),
        Row("dispatch", "webhook received → container running, p50", "ms", mate["p50"],
            bare["p50"], name, DIFFERENCE),
    ]  # fmt: skip
    if quiet.get("n"):
        rows.append(
            Row("dispatch", "same, minus HTTP calls to the GitLab simulator, p95", "ms",
                quiet["p95"], bare["p95"], name, DIFFERENCE)
        )  # fmt: skip
    notes = [f"{mate['n']} jobs measured against {bare['n']} bare runs"]
    counts = {
        "problems": "events without a running job",
        "baseline_errors": "bare runs that failed",
        "jobs_queued": "jobs that waited for a slot",
    }
    notes += [f"{label}: {f[key]}" for key, label in counts.items() if f.get(key)]
    cores = f.get("busy_cores", {})
    notes += _other_cores({f"{phase} phase": cores[phase].get("others") for phase in cores})
    return Section(rows, notes)


def tool_call_rows(f: dict) -> Section:
    latency = f["latency_ms"]
    rows = []
    for name in latency:
        tool, transport = name.split("/")
        if transport == "direct":
            continue
        direct = latency[f"{tool}/direct"]
        for pct, limit in (("p50", 10), ("p99", 50)):
            rows.append(
                Row("tool call", f"{tool} via {transport}, {pct}", "ms", latency[name][pct],
                    direct[pct], "direct python-gitlab call to the simulator", DIFFERENCE,
                    Target("<=", limit, on="compare"))
            )  # fmt: skip
    return Section(rows, [f"{f['calls']} sequential calls per path"])


def config_resolve_rows(f: dict) -> Section:
    ms = f["ms"]
    route, parse = ms["full_route"], ms.get("yaml_parse_only")
    name = "YAML parser events alone, same documents"
    rows = []
    for stat in ("median", "p95"):
        rows.append(
            Row("config resolve", f"load+validate+merge+match x4, realistic config, {stat}", "ms",
                route[stat], parse[stat] if parse else None, name if parse else "",
                RATIO if parse else None, Target("<=", 10))
        )  # fmt: skip
    notes = [
        f"{route['n']} runs; tenant {f['bytes']['tenant']:,} B, .mate.yml {f['bytes']['repo']:,} B"
    ]
    if parse:
        notes.append(f"YAML parser events alone: median {parse['median']:,.1f} ms")
    return Section(rows, notes)


def purge_rows(f: dict) -> Section:
    web = f["web"]
    base = web["baseline"]["p99_ms"]
    rate = f.get("rate", 100)
    no_purge = "same load, no purge"
    rows = [
        Row("purge", "rows purged per second", "rows/s", f["purge"]["rows_per_s"],
            target=Target(">=", 5000)),
        Row("purge", f"web p99 at {rate:g}/s during the purge", "ms", web["during_purge"]["p99_ms"],
            base, no_purge, RATIO, Target("<=", 1.20, on="compare")),
        Row("purge", f"web p99 at {rate:g}/s after the purge", "ms", web["after_purge"]["p99_ms"],
            base, no_purge, RATIO),
    ]  # fmt: skip
    p = f["purge"]
    notes = [f"{p['rows']:,} rows in {p['seconds']:,.1f} s"]
    if p.get("backend_cpu_s") is not None:
        notes.append(
            f"purge CPU: Python {p['python_cpu_s']:.1f} s, PostgreSQL backend "
            f"{p['backend_cpu_s']:.1f} s"
        )
    checks = f.get("checks", {})
    if checks.get("old_rows_left"):
        notes.append(f"rows older than the cut-off left: {checks['old_rows_left']:,}")
    if checks.get("purged_matches_old_rows") is False:
        notes.append("the purged counts differ from the old rows counted before")
    if checks.get("load_2xx", 0) > checks.get("load_deliveries_stored", 0):
        notes.append(
            f"load: {checks['load_2xx']:,} answers 2xx but {checks['load_deliveries_stored']:,} "
            "Delivery rows stored"
        )
    if f.get("pacer_late"):
        notes.append(f"the load's pacer fell behind {f['pacer_late']:,} times (client saturated)")
    notes += _other_cores(
        {f"{name} window": w.get("cores", {}).get("others") for name, w in web.items()}
    )
    return Section(rows, notes)


def _other_cores(by_window: dict[str, float | None]) -> list[str]:
    """The busy cores of other work on the machine (not this bench) per measured window."""
    seen = [f"{name} {value:.2f}" for name, value in by_window.items() if value is not None]
    return [f"busy cores of other work on the machine: {', '.join(seen)}"] if seen else []


BUILDERS: dict[str, Callable[[dict], Section]] = {
    "ingest": ingest_rows,
    "dispatch": dispatch_rows,
    "tool_call": tool_call_rows,
    "config_resolve": config_resolve_rows,
    "purge": purge_rows,
}


def section(name: str, figures: dict | None, failure: str = "") -> Section:
    """The rows of one bench; a failed bench, or figures that cannot be read, is one failed row."""
    if figures is None:
        return Section([Row(name, "", "", None, failed=failure or "no figures")])
    try:
        return BUILDERS[name](figures)
    except (KeyError, TypeError, ValueError, ZeroDivisionError) as exc:
        why = f"figures unreadable: {type(exc).__name__}: {exc}"
        return Section([Row(name, "", "", None, failed=why)])


# --- Markdown ------------------------------------------------------------------------------------


def fmt_value(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "ms":
        return f"{value:,.1f} ms" if abs(value) < 100 else f"{value:,.0f} ms"
    return f"{value:,.0f} {unit}"


def fmt_compared(row: Row) -> str:
    value = row.compared
    if value is None:
        return "—"
    if row.compare == RATIO:
        return f"{value:.2f}x"
    sign = "+" if value >= 0 else "−"
    return f"{sign}{fmt_value(abs(value), row.unit)}"


def fmt_target(row: Row) -> str:
    t = row.target
    if t is None:
        return "—"
    op = "≤" if t.op == "<=" else "≥"
    if t.on == "mate":
        return f"{op} {fmt_value(t.limit, row.unit)}"
    if row.compare == RATIO:
        return f"ratio {op} {t.limit:.2f}x"
    return f"Mate − baseline {op} {fmt_value(t.limit, row.unit)}"


def fmt_met(row: Row) -> str:
    if row.failed:
        return "**failed**"
    if row.target is None:
        return "—"
    return {True: "met", False: "**missed**", None: "not measured"}[row.met]


HEADER = [
    "bench",
    "figure",
    "Mate",
    "side-by-side baseline",
    "ratio / difference",
    "target",
    "met?",
]


def table(rows: list[Row]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|---|---|---:|---|---:|---|---|"]
    for r in rows:
        if r.failed:
            cells = [r.bench, "bench failed (see below)", "—", "—", "—", "—", fmt_met(r)]
        else:
            base = fmt_value(r.baseline, r.unit)
            if r.baseline is not None and r.baseline_name:
                base = f"{base} ({r.baseline_name})"
            cells = [r.bench, r.figure, fmt_value(r.mate, r.unit), base, fmt_compared(r),
                     fmt_target(r), fmt_met(r)]  # fmt: skip
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


def misses(sections: dict[str, Section]) -> list[str]:
    """Markdown bullets: each missed or unmeasured target, with what its bench measured around it
    (the bench's notes, figures only: no cause that was not measured), and each failed bench
    with the tail of its output."""
    out = []
    for name, sec in sections.items():
        for r in sec.rows:
            if r.failed:
                out += [f"- **{name}** failed:", "", "  ```", *_indent(r.failed), "  ```"]
        bad = [r for r in sec.rows if not r.failed and r.target is not None and r.met is not True]
        for r in bad:
            measured = fmt_value(r.mate, r.unit)
            if r.target is not None and r.target.on == "compare":
                measured = f"{fmt_compared(r)} (Mate {measured}, baseline "
                measured += f"{fmt_value(r.baseline, r.unit)})"
            verdict = "missed" if r.met is False else "not measured"
            out.append(
                f"- **{r.bench}**, {r.figure}: {measured}; target {fmt_target(r)}: {verdict}"
            )
        if bad:
            out += [f"  - measured: {note}" for note in sec.notes]
    return out


def _indent(text: str) -> list[str]:
    return [f"  {line}".rstrip() for line in text.replace("```", "` ` `").splitlines()]


def count_met(sections: dict[str, Section]) -> tuple[int, int, int]:
    """(targets met, targets checked, benches failed)."""
    met = total = failed = 0
    for sec in sections.values():
        for r in sec.rows:
            failed += bool(r.failed)
            if r.target is not None and not r.failed:
                total += 1
                met += r.met is True
    return met, total, failed


@dataclass(frozen=True)
class Run:
    """How one bench ran: its command, wall seconds and exit status (None: never started)."""

    name: str
    command: str
    seconds: float
    returncode: int | None


def document(*, header: dict[str, str], sections: dict[str, Section], runs: list[Run]) -> str:
    """The whole report: header lines, the table, the tally, misses and causes, the runs."""
    rows = [r for sec in sections.values() for r in sec.rows]
    met, total, failed = count_met(sections)
    lines = ["# Mate benchmark report", ""]
    lines += [f"- **{key}**: {value}" for key, value in header.items()]
    tally = f"**{met} of {total} targets met**"
    if failed:
        tally += f"; {failed} bench(es) failed and have no figures"
    lines += ["", table(rows), "", tally, "", "## Misses and causes", ""]
    lines += misses(sections) or ["None: every target was met."]
    lines += ["", "## Runs", "", "| bench | command | seconds | exit |", "|---|---|---:|---:|"]
    for run in runs:
        code = "—" if run.returncode is None else str(run.returncode)
        lines.append(f"| {run.name} | `{run.command}` | {run.seconds:,.0f} | {code} |")
    return "\n".join(lines) + "\n"
