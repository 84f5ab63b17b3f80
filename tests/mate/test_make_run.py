"""`make run` on a machine with no services: web, worker and beat come up with embedded defaults."""

import os
import re
import signal
import socket
import subprocess
import sys
import time

import pytest
import requests

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(predicate, timeout: float, what: str, log) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.3)
    raise AssertionError(f"{what} did not happen within {timeout}s; output:\n{log()}")


@pytest.fixture
def embedded_env(tmp_path):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL") and not k.startswith(("MATE_", "DJANGO_"))
    }
    port = _free_port()
    env.update(
        MATE_VAR_DIR=str(tmp_path / "var"),
        MATE_BIND=f"127.0.0.1:{port}",
        DJANGO_SETTINGS_MODULE="mate.settings",
    )
    return env, f"http://127.0.0.1:{port}"


def test_make_run_serves_console_and_processes_tasks(embedded_env, tmp_path):
    env, base = embedded_env
    log_path = tmp_path / "run.log"
    with open(log_path, "w") as log_file:
        proc = subprocess.Popen(
            ["make", "--no-print-directory", "run"],
            cwd=ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    log = log_path.read_text

    def healthy() -> bool:
        try:
            return requests.get(f"{base}/healthz", timeout=2).status_code == 200
        except requests.RequestException:  # not up yet, or busy starting
            return False

    try:
        _wait_for(healthy, 120, "GET /healthz → 200", log)
        assert requests.get(f"{base}/healthz", timeout=10).json()["checks"] == {
            "database": "ok",
            "broker": "ok",
        }
        # Signing in with the password printed once by the first run.
        password = re.search(r"password: (\S+)", log()).group(1)
        session = requests.Session()
        session.get(f"{base}/login/", timeout=5)
        page = session.post(
            f"{base}/login/",
            data={
                "username": "operator",
                "password": password,
                "csrfmiddlewaretoken": session.cookies["csrftoken"],
            },
            headers={"Referer": f"{base}/login/"},
            timeout=5,
        )
        assert "signed in as operator" in page.text
        # A task sent through the embedded broker is executed by the worker.
        _wait_for(lambda: "celery@" in log() and " ready." in log(), 60, "worker ready", log)
        assert "beat: Starting" in log()
        subprocess.run(
            [
                sys.executable,
                "-c",
                "import django; django.setup(); "
                "from jobs.tasks import periodic_minute; periodic_minute.delay()",
            ],
            cwd=ROOT,
            env=env,
            check=True,
            timeout=60,
        )
        _wait_for(
            lambda: re.search(r"Task jobs\.periodic_minute\[[\w-]+\] succeeded", log()) is not None,
            60,
            "the worker running a task sent through the broker",
            log,
        )
        assert (tmp_path / "var" / "mate.sqlite3").exists()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
