"""Settings refuse bad values at start-up (run in a subprocess: settings load once per process)."""

import base64
import os
import subprocess
import sys

import pytest
from django.conf import settings

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _check(tmp_path, **env_overrides):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "MATE_"))}
    env.update({"MATE_VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "mate.settings"})
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True
    )


@pytest.mark.parametrize(
    "present",
    [
        {},
        {"DJANGO_SECRET_KEY": "x" * 50},
        {"DJANGO_SECRET_KEY": "x" * 50, "DJANGO_ALLOWED_HOSTS": "mate.example"},
    ],
)
def test_production_refuses_to_start_without_its_secrets(tmp_path, present):
    result = _check(tmp_path, MATE_ENV="production", **present)
    assert result.returncode != 0
    assert "MATE_ENV=production refuses to start without" in result.stderr
    assert "MATE_ENCRYPTION_KEYS" in result.stderr
    assert not (tmp_path / "encryption.keys").exists()


def test_production_starts_with_everything_set(tmp_path):
    key = base64.b64encode(os.urandom(32)).decode()
    result = _check(
        tmp_path,
        MATE_ENV="production",
        DJANGO_SECRET_KEY="s" * 50,
        DJANGO_ALLOWED_HOSTS="mate.example",
        MATE_ENCRYPTION_KEYS=f"k1:{key}",
    )
    assert result.returncode == 0, result.stderr
    assert key not in result.stdout + result.stderr


def test_bad_keyring_is_a_startup_error_naming_the_variable(tmp_path):
    result = _check(tmp_path, MATE_ENCRYPTION_KEYS="k1:short")
    assert result.returncode != 0
    assert "MATE_ENCRYPTION_KEYS key 'k1'" in result.stderr


def test_unknown_environment_name_is_refused(tmp_path):
    result = _check(tmp_path, MATE_ENV="staging")
    assert result.returncode != 0
    assert "MATE_ENV='staging' is not valid" in result.stderr


def test_development_generates_a_key_ring_with_a_warning(tmp_path):
    result = _check(tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Generated a development key ring" in result.stderr
    assert (tmp_path / "encryption.keys").exists()


def test_celery_conventions():
    assert settings.CELERY_TASK_ACKS_LATE is True
    assert settings.CELERY_WORKER_PREFETCH_MULTIPLIER == 1
    assert settings.CELERY_TASK_REJECT_ON_WORKER_LOST is True
    assert settings.CELERY_TASK_IGNORE_RESULT is True
    from mate.celery import app

    app.loader.import_default_modules()  # what a worker does at start: autodiscovery
    assert {q.name for q in app.conf.task_queues} == {"default", "jobs"}
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in app.tasks, f"beat schedules unknown task {entry['task']}"


READ_SETTINGS = """
import json, django
django.setup()
from django.conf import settings as s
names = json.loads(input())
values = {name: getattr(s, name) for name in names}
values["schedule"] = s.CELERY_BEAT_SCHEDULE["every-minute"]["schedule"]
print(json.dumps(values))
"""


def test_operational_limits_come_from_the_environment(tmp_path):
    import json

    wanted = {
        "MATE_RECONCILE_SECONDS": "7",
        "MATE_SWEEP_GRACE_SECONDS": "11",
        "MATE_REQUEUE_AFTER_SECONDS": "13",
        "MATE_TOOL_BURST": "17",
        "MATE_TOOL_BURST_SECONDS": "19",
        "MATE_TOOL_CALLS_PER_JOB": "23",
        "MATE_TOOL_AUTH_FAILURES_PER_MINUTE": "29",
        "MATE_CONSOLE_REFRESH_MS": "1500",
        "MATE_METRICS_TOKEN": "metrics-token-31",
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "MATE_"))}
    env.update(wanted, MATE_VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="mate.settings")
    names = [n for n in wanted if n != "MATE_RECONCILE_SECONDS"]
    done = subprocess.run(
        [sys.executable, "-c", READ_SETTINGS],
        cwd=ROOT,
        env=env,
        input=json.dumps(names),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    values = json.loads(done.stdout.strip().splitlines()[-1])
    assert values.pop("schedule") == 7.0
    assert values == {
        n: (wanted[n] if n == "MATE_METRICS_TOKEN" else int(wanted[n])) for n in names
    }
