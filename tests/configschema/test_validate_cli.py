"""mate/cli/validate.py: ``python manage.py mate validate`` (SPEC §4.11). No database needed."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

from .helpers import FIXTURES, TENANT

ROOT = Path(__file__).resolve().parents[2]
BAD_TENANT = "version: 1\nbots: [x]\nagents:\n  a: {backend: copilot}\n"
REPO_WARNING = "version: 1\npolicies: {cooldown: 1m}\n"


def _run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("mate", "validate", *args, stdout=out, stderr=err)
        status = 0
    except SystemExit as exc:
        status = int(exc.code or 0)
    return status, out.getvalue(), err.getvalue()


@pytest.fixture
def files(tmp_path: Path):
    def write(name: str, text: str) -> str:
        path = tmp_path / name
        path.write_text(text)
        return str(path)

    return write


def test_valid_files_exit_0_and_print_nothing(files) -> None:
    status, out, err = _run(
        "--tenant", files("t.yml", TENANT), "--repo", files("r.yml", "version: 1\n")
    )
    assert (status, out, err) == (0, "", "")


def test_warnings_are_printed_and_still_exit_0(files) -> None:
    tenant, repo = files("t.yml", TENANT), files("r.yml", REPO_WARNING)
    status, out, _ = _run("--tenant", tenant, "--repo", repo)
    assert status == 0
    assert out == (
        f"{repo}:2:1: warning: policies: policies in .mate.yml are accepted but ignored; "
        "the tenant policies apply\n"
    )


def test_errors_exit_1_with_one_line_per_problem(files) -> None:
    tenant = files("t.yml", BAD_TENANT)
    status, out, _ = _run("--tenant", tenant)
    assert status == 1
    assert out.splitlines() == [
        f"{tenant}:2:1: error: bots: is not allowed in the tenant config; register bots in the Bots tab",
        f"{tenant}:4:6: error: agents.a: agent a has no model, system_prompt, permissions; set it here or in the agent it extends",
        f"{tenant}:4:16: warning: agents.a.backend: backend copilot is accepted but runs the claude-code adapter",
    ]


def test_repo_is_checked_against_the_tenant(files) -> None:
    tenant = files("t.yml", TENANT)
    repo = files("r.yml", "version: 1\nagents:\n  reviewer:\n    permissions: [read, merge]\n")
    status, out, _ = _run("--tenant", tenant, "--repo", repo)
    assert status == 1
    assert out == (
        f"{repo}:4:18: error: agents.reviewer.permissions: not a subset of base agent reviewer "
        "(adds: merge)\n"
    )


def test_repo_is_not_checked_against_an_invalid_tenant(files) -> None:
    tenant, repo = files("t.yml", BAD_TENANT), files("r.yml", "version: 9\n")
    status, out, err = _run("--tenant", tenant, "--repo", repo)
    assert status == 1
    assert repo not in out
    assert f"{repo} was not checked: {tenant} has errors" in err


def test_json_output(files) -> None:
    tenant, repo = files("t.yml", TENANT), files("r.yml", REPO_WARNING + "bots: []\n")
    status, out, _ = _run("--tenant", tenant, "--repo", repo, "--json")
    assert status == 1
    document = json.loads(out)
    assert document["ok"] is False
    assert document["problems"] == [
        {
            "file": repo,
            "line": 2,
            "column": 1,
            "path": "policies",
            "severity": "warning",
            "message": "policies in .mate.yml are accepted but ignored; the tenant policies apply",
        },
        {
            "file": repo,
            "line": 3,
            "column": 1,
            "path": "bots",
            "severity": "error",
            "message": "bots: is not allowed in .mate.yml; only the tenant YAML may declare bots.",
        },
    ]
    assert list(document["problems"][0]) == [
        "file",
        "line",
        "column",
        "path",
        "severity",
        "message",
    ]


def test_json_ok(files) -> None:
    status, out, _ = _run("--tenant", files("t.yml", TENANT), "--json")
    assert (status, json.loads(out)) == (0, {"ok": True, "problems": []})


def test_unreadable_file_exits_2(files, tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.yml")
    status, out, err = _run("--tenant", files("t.yml", TENANT), "--repo", missing)
    assert (status, out) == (2, "")
    assert err == f"mate validate: cannot read {missing}: No such file or directory\n"
    status, _, err = _run("--tenant", str(tmp_path))
    assert status == 2 and "cannot read" in err


def test_missing_tenant_option_is_a_usage_error(capsys) -> None:
    status, _, _ = _run("--repo", "r.yml")
    assert status == 2
    assert "--tenant" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("deployment", "flags", "warned"),
    [("hosted", [], True), ("hosted", ["--onprem"], False), ("onprem", [], False)],
)
def test_onprem_mode(files, settings, deployment: str, flags: list[str], warned: bool) -> None:
    settings.MATE_DEPLOYMENT = deployment
    text = TENANT.replace("    timeout: 30m\n", "    timeout: 30m\n    keep_container: true\n")
    status, out, _ = _run("--tenant", files("t.yml", text), *flags)
    assert status == 0
    assert ("keep_container is ignored" in out) is warned


def test_hostile_and_binary_files_are_errors_not_crashes(files, tmp_path: Path) -> None:
    big = tmp_path / "big.yml"
    big.write_text("version: 1\n#" + "x" * 300_000 + "\n")
    status, out, _ = _run("--tenant", str(big))
    assert status == 1
    assert out == f"{big}:1:1: error: the document is larger than 256 KiB; refused before parsing\n"
    binary = tmp_path / "bin.yml"
    binary.write_bytes(b"\xff\xfe\x00")
    status, out, _ = _run("--tenant", str(binary))
    assert status == 1 and "not UTF-8" in out


@pytest.mark.slow
def test_end_to_end_through_manage_py() -> None:
    tenant = FIXTURES / "seed_repo_tenant.yml"
    repo = FIXTURES / "seed_repo.yml"
    command = [sys.executable, "manage.py", "mate", "validate", "--tenant", str(tenant)]
    ok = subprocess.run([*command, "--repo", str(repo)], cwd=ROOT, capture_output=True, text=True)
    assert (ok.returncode, ok.stdout) == (0, "")
    usage = subprocess.run(command[:4], cwd=ROOT, capture_output=True, text=True)
    assert usage.returncode == 2 and "--tenant" in usage.stderr
