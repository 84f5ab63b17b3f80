"""bench/report_table.py: figures to rows, ratios and differences, target checks, the report.
No timings: the figures here are made up so that each check sits right at or past its limit."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


def bench_module(name: str):
    """A module of bench/ (not a package: its scripts import each other by plain name)."""
    sys.path.insert(0, str(BENCH))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(BENCH))


@pytest.fixture(scope="module")
def rt():
    return bench_module("report_table")


def by_figure(section, text):
    (row,) = [r for r in section.rows if text in r.figure]
    return row


# --- Target and Row ------------------------------------------------------------------------------


def test_targets_include_their_limit(rt):
    assert rt.Target("<=", 50).met(50) is True
    assert rt.Target("<=", 50).met(50.01) is False
    assert rt.Target(">=", 300).met(300) is True
    assert rt.Target(">=", 300).met(299.9) is False
    assert rt.Target("<=", 50).met(None) is None


def test_ratio_and_difference(rt):
    ratio = rt.Row("b", "f", "ms", 30.0, 12.0, compare=rt.RATIO)
    assert ratio.compared == pytest.approx(2.5)
    diff = rt.Row("b", "f", "ms", 30.0, 12.0, compare=rt.DIFFERENCE)
    assert diff.compared == pytest.approx(18.0)
    assert rt.Row("b", "f", "ms", 30.0, 0.0, compare=rt.RATIO).compared is None
    assert rt.Row("b", "f", "ms", 30.0, None, compare=rt.RATIO).compared is None


def test_a_target_on_the_comparison_checks_the_comparison_not_mates_figure(rt):
    row = rt.Row("b", "f", "ms", 900.0, 100.0, compare=rt.DIFFERENCE, target=rt.Target("<=", 500, on="compare"))  # fmt: skip
    assert row.checked == pytest.approx(800.0)
    assert row.met is False
    row = rt.Row("b", "f", "ms", 900.0, 500.0, compare=rt.DIFFERENCE, target=rt.Target("<=", 500, on="compare"))  # fmt: skip
    assert row.met is True


def test_without_a_target_or_a_figure_nothing_is_met(rt):
    assert rt.Row("b", "f", "ms", 1.0).met is None
    unmeasurable = rt.Row("b", "f", "ms", 1.0, 0.0, compare=rt.RATIO, target=rt.Target("<=", 1.2, on="compare"))  # fmt: skip
    assert unmeasurable.met is None


# --- Per bench -----------------------------------------------------------------------------------


def ingest_figures(*, rate_p99=49.9, rps=400.0, requests=1000, ok2xx=1000):
    def result(target, mode, p99, rps_, requests_, ok):
        return {"target": target, "mode": mode, "rps": rps_, "p50_ms": p99 / 2, "p99_ms": p99,
                "requests": requests_, "ok2xx": ok, "non2xx": requests_ - ok, "errors": {}}  # fmt: skip

    return {
        "rate": 100,
        "results": [
            result("webhook", "max", 80.0, rps, requests, ok2xx),
            result("bare-django", "max", 20.0, 1600.0, 4000, 4000),
            result("bare", "max", 5.0, 5000.0, 9000, 9000),
            result("webhook", "rate", rate_p99, 100.0, 500, 500),
            result("bare-django", "rate", 10.0, 100.0, 500, 500),
        ],
    }


def test_ingest_p99_at_the_fixed_rate_against_50_ms_and_the_bare_view(rt):
    row = by_figure(rt.ingest_rows(ingest_figures(rate_p99=49.9)), "p99 at 100/s")
    assert (row.mate, row.baseline, row.met) == (49.9, 10.0, True)
    assert row.compared == pytest.approx(4.99)
    row = by_figure(rt.ingest_rows(ingest_figures(rate_p99=50.1)), "p99 at 100/s")
    assert row.met is False


def test_ingest_throughput_counts_2xx_answers_only(rt):
    ok = by_figure(rt.ingest_rows(ingest_figures(rps=400.0)), "sustained")
    assert ok.mate == pytest.approx(400.0)
    assert ok.compared == pytest.approx(0.25)  # 400 / 1600 of the bare Django view
    assert ok.met is True
    # 400 answers/s of which 70 % are 2xx: 280 webhooks/s, below 300.
    failing = rt.ingest_rows(ingest_figures(rps=400.0, ok2xx=700))
    row = by_figure(failing, "sustained")
    assert row.mate == pytest.approx(280.0)
    assert row.met is False
    assert any("300 of 1,000 requests not 2xx" in note for note in failing.notes)


def test_ingest_notes_are_measured_facts(rt):
    figures = ingest_figures()
    rate_run = next(
        r for r in figures["results"] if r["target"] == "webhook" and r["mode"] == "rate"
    )
    rate_run.update(rps=80.0, pacer_late=7, other_cores=0.5)
    notes = rt.ingest_rows(figures).notes
    assert "the 100/s run was answered at 80.0/s only" in notes
    assert "the 100/s client's pacer fell behind 7 times" in notes
    assert "plain WSGI 'ok' (no Django) sustained 5,000/s" in notes
    assert "busy cores of other work on the machine: webhook rate run 0.50" in notes


def dispatch_figures(mate_p95, bare_p95):
    return {
        "mate_received_to_running_ms": {"n": 100, "p50": 900.0, "p95": mate_p95},
        "bare_docker_run_to_running_ms": {"n": 100, "p50": 400.0, "p95": bare_p95},
        "mate_without_gitlab_http_ms": {"n": 100, "p50": 700.0, "p95": 1500.0},
        "problems": 0,
        "baseline_errors": 2,
    }


def test_dispatch_is_checked_on_the_difference_to_bare_docker_run(rt):
    section = rt.dispatch_rows(dispatch_figures(2400.0, 1300.0))
    row = by_figure(section, "running, p95")
    assert row.compared == pytest.approx(1100.0)
    assert row.met is False  # 2.4 s alone would be fine; 1.1 s over docker run is not
    assert rt.fmt_compared(row) == "+1,100 ms"
    assert by_figure(rt.dispatch_rows(dispatch_figures(2300.0, 1300.0)), "running, p95").met
    assert by_figure(section, "minus HTTP").compared == pytest.approx(200.0)
    assert "bare runs that failed: 2" in section.notes


def tool_call_figures():
    def lat(p50, p99):
        return {"p50": p50, "p90": p99, "p99": p99, "mean": p50}

    return {
        "calls": 300,
        "latency_ms": {
            "get_issue/direct": lat(3.0, 10.0),
            "get_issue/rest": lat(13.0, 60.0),  # +10 met, +50 met
            "get_issue/mcp": lat(13.5, 60.5),  # +10.5 missed, +50.5 missed
            "create_issue_note/direct": lat(20.0, 40.0),
            "create_issue_note/rest": lat(25.0, 95.0),  # +5 met, +55 missed
            "create_issue_note/mcp": lat(26.0, 80.0),
        },
    }


def test_tool_call_overhead_is_transport_minus_direct(rt):
    section = rt.tool_call_rows(tool_call_figures())
    assert len(section.rows) == 8  # 2 tools x 2 transports x (p50, p99)
    met = {r.figure: r.met for r in section.rows}
    assert met["get_issue via rest, p50"] is True
    assert met["get_issue via rest, p99"] is True
    assert met["get_issue via mcp, p50"] is False
    assert met["get_issue via mcp, p99"] is False
    assert met["create_issue_note via rest, p50"] is True
    assert met["create_issue_note via rest, p99"] is False
    row = by_figure(section, "create_issue_note via rest, p99")
    assert (row.mate, row.baseline, row.compared) == (95.0, 40.0, 55.0)


def test_config_resolve_against_10_ms_beside_the_yaml_parse(rt):
    figures = {
        "bytes": {"tenant": 17000, "repo": 1500},
        "ms": {
            "full_route": {"n": 30, "median": 9.9, "p95": 10.5},
            "yaml_parse_only": {"n": 30, "median": 4.5, "p95": 5.0},
        },
    }
    section = rt.config_resolve_rows(figures)
    median, p95 = by_figure(section, "median"), by_figure(section, "p95")
    assert (median.met, p95.met) == (True, False)
    assert median.compared == pytest.approx(2.2)
    assert p95.compared == pytest.approx(2.1)


def purge_figures(rows_per_s, during_p99, base_p99=100.0):
    return {
        "rate": 100,
        "purge": {
            "rows": 100000,
            "seconds": 20.0,
            "rows_per_s": rows_per_s,
            "python_cpu_s": 1.0,
            "backend_cpu_s": 9.0,
        },  # fmt: skip
        "web": {
            "baseline": {"p99_ms": base_p99},
            "during_purge": {"p99_ms": during_p99, "cores": {"others": 0.4}},
            "after_purge": {"p99_ms": base_p99},
        },
        "checks": {"old_rows_left": 0},
    }


def test_purge_rate_and_p99_rise(rt):
    section = rt.purge_rows(purge_figures(5000, 120.0))
    assert by_figure(section, "rows purged").met is True
    during = by_figure(section, "during")
    assert during.compared == pytest.approx(1.2)
    assert during.met is True  # exactly +20 %
    section = rt.purge_rows(purge_figures(4999, 121.0))
    assert by_figure(section, "rows purged").met is False
    assert by_figure(section, "during").met is False
    # A baseline p99 of 0 gives no ratio: the target is not measured, so not met.
    assert by_figure(rt.purge_rows(purge_figures(6000, 5.0, base_p99=0.0)), "during").met is None


def test_a_failed_bench_or_unreadable_figures_become_one_failed_row(rt):
    failed = rt.section("dispatch", None, "exit code 1\nTraceback ...\nRuntimeError: no Docker")
    (row,) = failed.rows
    assert row.failed.startswith("exit code 1") and row.met is None
    (row,) = rt.section("ingest", {"results": []}).rows
    assert row.failed.startswith("figures unreadable: KeyError")


# --- The document --------------------------------------------------------------------------------


def test_document_shows_every_target_verdict_and_the_misses(rt):
    sections = {
        "dispatch": rt.dispatch_rows(dispatch_figures(2400.0, 1300.0)),
        "purge": rt.purge_rows(purge_figures(8000, 110.0)),
        "ingest": rt.section("ingest", None, "exit code 2\nwrk is not installed."),
    }
    runs = [rt.Run("dispatch", "python bench/dispatch.py", 12.0, 0)]
    text = rt.document(header={"date": "today"}, sections=sections, runs=runs)
    assert "- **date**: today" in text
    table = [line for line in text.splitlines() if line.startswith("| dispatch |")]
    p95 = next(line for line in table if "running, p95" in line)
    assert p95.endswith("| Mate − baseline ≤ 1,000 ms | **missed** |")
    assert "| 2,400 ms |" in p95 and "+1,100 ms" in p95
    purge = next(line for line in text.splitlines() if "rows purged" in line)
    assert purge.endswith("| ≥ 5,000 rows/s | met |")
    assert "| ingest | bench failed (see below) |" in text
    assert "**2 of 3 targets met**; 1 bench(es) failed" in text
    misses = text.split("## Misses and causes", 1)[1].split("## Runs", 1)[0]
    assert "running, p95: +1,100 ms (Mate 2,400 ms, baseline 1,300 ms)" in misses
    assert "  - measured: bare runs that failed: 2" in misses
    assert "wrk is not installed." in misses
    assert "rows purged" not in misses  # met targets are not misses
    assert "| dispatch | `python bench/dispatch.py` | 12 | 0 |" in text


def test_report_cli_picks_benches():
    report = bench_module("report")
    assert report.parse_args(["--only", "purge, ingest"]).names == ["purge", "ingest"]
    assert report.parse_args([]).names == list(report.BENCHES)
    with pytest.raises(SystemExit):
        report.parse_args(["--only", "nope"])
