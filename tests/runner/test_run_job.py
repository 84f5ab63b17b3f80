"""run_job end to end on a real Docker engine (SPEC §6.1, §6.6, §6.7; THREATS T8, T15, T26, T27):
real credentials minted at the GitLab simulator, the tiny test image, the hardened container."""

from __future__ import annotations

import os
import time

import pytest

from jobs import credentials
from jobs.models import Job, JobEvent, JobStatus, JobToken, Outcome
from jobs.runner import hardening
from jobs.services import lifecycle
from tests.runner.conftest import LLM_KEY
from tests.runner.helpers import events, log_lines, run_in_thread, status_of, transitions, wait_for

pytestmark = [pytest.mark.docker, pytest.mark.django_db(transaction=True)]


def _final(job: Job) -> dict:
    (final,) = events(job, JobEvent.Kind.FINAL)
    return final


def test_a_job_that_prints_and_exits_0_is_done_with_its_lines(runner_world):
    job = runner_world.job('echo "line one"; echo "line two" >&2; printf "no newline"')
    lifecycle.run_job(job.pk)
    job.refresh_from_db()
    assert (job.status, job.outcome, job.exit_code) == (JobStatus.DONE, Outcome.SUCCESS, 0)
    assert sorted(log_lines(job)) == ["line one", "line two", "no newline"]
    assert transitions(job) == [
        ("STARTING", "RUNNING"),
        ("RUNNING", "FINISHING"),
        ("FINISHING", "DONE"),
    ]
    assert _final(job) == {
        "outcome": "SUCCESS",
        "exit_code": 0,
        "reason": "agent exited with code 0",
    }
    assert job.started_at and job.finished_at and job.container_name == f"mate-job-{job.uid}"
    assert job.worker.endswith(f":{os.getpid()}")


def test_credentials_are_minted_handed_over_redacted_and_revoked(runner_world):
    script = (
        'echo "job=$MATE_JOB_TOKEN"; echo "clone=$MATE_CLONE_TOKEN"; '
        'echo "llm=$OPENROUTER_API_KEY"; echo "tool=$MATE_TOOL_URL"; echo "ref=$MATE_REF"; '
        'echo "home=$HOME"'
    )
    job = runner_world.job(script)
    lifecycle.run_job(job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.DONE
    text = "\n".join(log_lines(job))
    assert LLM_KEY not in text and "llm=[REDACTED]" in text
    assert "job=[REDACTED]" in text and "clone=[REDACTED]" in text
    assert "ref=main" in text and "home=/home/mate" in text
    assert "tool=http://" in text and text.split("tool=")[1].split("\n")[0].endswith("/tools/")
    tokens = JobToken.objects.filter(job=job)
    assert {t.kind for t in tokens} == {"gitlab_key", "clone_token"}
    assert all(t.revoked_at is not None and not t.has_secret("value") for t in tokens)
    # The simulator saw the revocations (T26).
    assert len(runner_world.sim.requests_to("DELETE", "/access_tokens/")) == 2
    assert credentials.authenticate("mjt_" + "x" * 43) is None


def test_non_zero_exit_is_done_with_failure(runner_world):
    job = runner_world.job("echo failing; exit 3")
    lifecycle.run_job(job.pk)
    job.refresh_from_db()
    assert (job.status, job.outcome, job.exit_code) == (JobStatus.DONE, Outcome.FAILURE, 3)
    assert _final(job)["exit_code"] == 3


def test_wall_clock_timeout_cancels_with_timeout(runner_world):
    job = runner_world.job("echo start; sleep 60", timeout=2)
    started = time.monotonic()
    lifecycle.run_job(job.pk)
    job.refresh_from_db()
    assert (job.status, job.outcome) == (JobStatus.CANCELED, Outcome.TIMEOUT)
    assert "wall-clock timeout" in _final(job)["reason"]
    assert time.monotonic() - started < 15
    assert log_lines(job) == ["start"]


def test_silent_job_is_stopped_by_the_watchdog(runner_world, settings):
    settings.MATE_WATCHDOG_SECONDS = 2
    job = runner_world.job("echo hello; sleep 60", timeout=120)
    lifecycle.run_job(job.pk)
    job.refresh_from_db()
    assert (job.status, job.outcome) == (JobStatus.CANCELED, Outcome.TIMEOUT)
    assert "watchdog" in _final(job)["reason"]


def test_output_keeps_the_watchdog_quiet(runner_world, settings):
    settings.MATE_WATCHDOG_SECONDS = 2
    job = runner_world.job("for i in 1 2 3 4 5 6 7 8; do echo tick $i; sleep 0.5; done")
    lifecycle.run_job(job.pk)
    job.refresh_from_db()
    assert (job.status, job.outcome) == (JobStatus.DONE, Outcome.SUCCESS)
    assert len(log_lines(job)) == 8


def test_cancel_ends_a_running_job_within_seconds(runner_world):
    job = runner_world.job("echo ready; sleep 120")
    thread = run_in_thread(job.pk)
    wait_for(lambda: "ready" in log_lines(job))
    started = time.monotonic()
    assert lifecycle.cancel_job(job, "canceled by an operator")
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert time.monotonic() - started < 8
    job.refresh_from_db()
    assert (job.status, job.outcome) == (JobStatus.CANCELED, Outcome.CANCELED)
    assert ("RUNNING", "FINISHING") in transitions(job)
    assert _final(job)["reason"] == "canceled by an operator"
    assert not lifecycle.cancel_job(job, "again")  # final: nothing to do


def test_cancel_kills_an_agent_that_ignores_sigterm_after_10_seconds(runner_world):
    job = runner_world.job("trap '' TERM; echo ready; while true; do sleep 1; done")
    thread = run_in_thread(job.pk)
    wait_for(lambda: "ready" in log_lines(job))
    started = time.monotonic()
    lifecycle.cancel_job(job, "stop")
    thread.join(timeout=40)
    elapsed = time.monotonic() - started
    job.refresh_from_db()
    assert (job.status, job.outcome) == (JobStatus.CANCELED, Outcome.CANCELED)
    assert 9 <= elapsed < 20
    assert job.exit_code == 137  # SIGKILL


def test_run_job_twice_does_nothing_the_second_time(runner_world, docker_client):
    job = runner_world.job("echo once")
    lifecycle.run_job(job.pk)
    count = Job.objects.get(pk=job.pk).events.count()
    lifecycle.run_job(job.pk)
    assert Job.objects.get(pk=job.pk).events.count() == count
    assert log_lines(job) == ["once"]


def test_a_job_claimed_by_another_worker_is_left_alone(runner_world, docker_client):
    job = runner_world.job("echo never")
    Job.objects.filter(pk=job.pk).update(worker="elsewhere:1")
    lifecycle.run_job(job.pk)
    assert status_of(job) == JobStatus.STARTING
    assert not docker_client.containers.list(all=True, filters={"name": f"mate-job-{job.uid}"})


def test_a_second_container_for_the_same_job_cannot_be_created(runner_world, docker_client):
    job = runner_world.job("echo never")
    squatter = docker_client.containers.create(
        "mate-runner-test:latest", name=hardening.container_name(job.uid), entrypoint=["true"]
    )
    try:
        lifecycle.run_job(job.pk)
        job.refresh_from_db()
        assert (job.status, job.outcome) == (JobStatus.ERRORED, Outcome.FAILURE)
        assert "exists already" in _final(job)["reason"]
        # By the name the runner would use (job.container_name stays empty: creation failed,
        # and an empty name filter would list every container on the engine).
        name = hardening.container_name(job.uid)
        named = docker_client.containers.list(all=True, filters={"name": name})
        assert [c.id for c in named] == [squatter.id]
    finally:
        squatter.remove(force=True)
    assert all(t.revoked_at for t in JobToken.objects.filter(job=job))


def test_a_finished_job_starts_the_oldest_pending_one(runner_world, monkeypatch):
    queued = []
    monkeypatch.setattr(lifecycle, "enqueue_run", queued.append)
    job = runner_world.job("echo first")
    older = runner_world.job(status=JobStatus.PENDING)
    newer = runner_world.job(status=JobStatus.PENDING)
    lifecycle.run_job(job.pk)
    assert (status_of(older), status_of(newer)) == (JobStatus.STARTING, JobStatus.PENDING)
    assert queued == [older.pk]
    assert transitions(older) == [("PENDING", "STARTING")]


def test_keep_container_is_honoured_only_on_prem(runner_world, settings, docker_client):
    settings.MATE_DEPLOYMENT = "hosted"
    hosted = runner_world.job("echo hosted", keep_container=True)
    lifecycle.run_job(hosted.pk)
    assert not docker_client.containers.list(all=True, filters={"name": f"mate-job-{hosted.uid}"})
    settings.MATE_DEPLOYMENT = "onprem"
    kept = runner_world.job("echo kept", keep_container=True)
    lifecycle.run_job(kept.pk)
    (container,) = docker_client.containers.list(all=True, filters={"name": f"mate-job-{kept.uid}"})
    try:
        assert container.status == "exited"
        assert container.labels[hardening.LABEL_KEEP] == "1"
        assert lifecycle.reap()["removed"] == 0  # kept on purpose
    finally:
        container.remove(force=True)


def test_a_missing_image_errors_the_job_with_a_reason(runner_world):
    job = runner_world.job("echo never", image="mate-runner-absent:none")
    lifecycle.run_job(job.pk)
    job.refresh_from_db()
    assert (job.status, job.outcome) == (JobStatus.ERRORED, Outcome.FAILURE)
    assert "mate-runner-absent:none" in _final(job)["reason"]
    assert all(t.revoked_at for t in JobToken.objects.filter(job=job))


def test_the_devcontainer_image_is_used_and_a_build_only_one_warns(runner_world, docker_client):
    docker_client.images.get("mate-runner-test:latest").tag("mate-runner-dev", "latest")
    sim, project = runner_world.sim, runner_world.project
    sim.commit_files(
        project,
        "main",
        {".devcontainer/devcontainer.json": '{\n  // dev\n  "image": "mate-runner-dev:latest",\n}'},
    )
    job = runner_world.job("echo dev")
    try:
        lifecycle.run_job(job.pk)
    finally:
        docker_client.images.remove("mate-runner-dev:latest")  # the tag only
    job.refresh_from_db()
    assert (job.status, job.image) == (JobStatus.DONE, "mate-runner-dev:latest")
    sim.commit_files(project, "main", {".devcontainer/devcontainer.json": '{"build": {}}'})
    job = runner_world.job("echo default")
    lifecycle.run_job(job.pk)
    job.refresh_from_db()
    assert (job.status, job.image) == (JobStatus.DONE, "mate-runner-test:latest")
    assert "needs a build" in events(job, JobEvent.Kind.WARNING)[0]["message"]


def test_a_log_flood_is_capped_but_the_job_runs_on(runner_world, settings):
    settings.MATE_MAX_LOG_LINES = 5
    job = runner_world.job("for i in $(seq 50); do echo line $i; done; echo done >&2")
    lifecycle.run_job(job.pk)
    job.refresh_from_db()
    assert (job.status, job.outcome) == (JobStatus.DONE, Outcome.SUCCESS)
    assert len(log_lines(job)) == 5
    assert "log capped at 5 lines" in events(job, JobEvent.Kind.WARNING)[0]["message"]


def test_the_container_reaches_the_tool_service_on_the_bridge_gateway(runner_world, settings):
    """MATE_TOOL_URL defaults to the mate-jobs gateway and MATE_TOOL_PORT: a server of this host
    listening there answers the container."""
    import http.server
    import threading

    from jobs.runner import containers

    gateway = containers.bridge_gateway(containers.ensure_network(containers.engine()))

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = f"tool service saw {self.path}".encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer((gateway, 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.MATE_TOOL_PORT = server.server_address[1]
    try:
        job = runner_world.job('wget -q -O - "$MATE_TOOL_URL"; echo')
        lifecycle.run_job(job.pk)
    finally:
        server.shutdown()
        server.server_close()
    job.refresh_from_db()
    assert job.status == JobStatus.DONE
    assert log_lines(job) == ["tool service saw /tools/"]
