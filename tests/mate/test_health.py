import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

PROBE = """
import django, json
django.setup()
from django.test import Client
r = Client().get('/healthz', HTTP_HOST='127.0.0.1')
print(json.dumps({'status': r.status_code, 'body': json.loads(r.content)}))
"""


@pytest.mark.django_db
def test_healthz_ok_when_database_and_broker_answer(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}


def test_healthz_rejects_post(client):
    assert client.post("/healthz").status_code == 405


def _probe(tmp_path, **env_overrides):
    env = dict(os.environ, MATE_VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="mate.settings")
    env.update(env_overrides)
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_healthz_503_names_the_broker_when_it_is_down(tmp_path):
    # Port 1 on loopback: nothing listens there, so the connection is refused at once.
    result = _probe(tmp_path, REDIS_URL="redis://127.0.0.1:1/0")
    assert result["status"] == 503
    assert result["body"]["down"] == ["broker"]
    assert result["body"]["checks"]["database"] == "ok"


def test_healthz_503_names_the_database_when_it_is_down(tmp_path):
    result = _probe(tmp_path, DATABASE_URL="postgres://mate@127.0.0.1:1/mate")
    assert result["status"] == 503
    assert result["body"]["down"] == ["database"]
