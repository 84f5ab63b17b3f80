"""Fuzzing ``POST /hook/<tenant>`` (T1, T18, T30) and the processing of what it accepts (§5.2-5.3).

Random tenants, tokens, hook types, headers (huge, odd, signed or not) and bodies (JSON, mutated
GitLab payloads, bytes, JSON that databases refuse) through the Django test client: never a 5xx,
a 200 only with the tenant's own secret, a 401 always empty. Every accepted delivery is then
processed by ``jobs.services.routing.process_delivery``, which must never raise: GitLab is a
closed local port (reads fail fast and become logged outcomes), or a stand-in that serves random
``.mate.yml`` files so that decisions, gates and job creation are reached as well.
"""

from __future__ import annotations

import base64
import copy
import hmac
import json
import time
import uuid
from typing import Any
from urllib.parse import quote

import pytest
from django.core.cache import cache
from django.test import Client
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from jobs import webhooks
from jobs.models import Delivery, DeliveryEvent, Job, Resolution
from jobs.routing.gitlab_reads import RepoFile
from jobs.services import ingest
from jobs.services.routing import process_delivery
from tenants import services
from tests.jobs.test_events import JSON as EVENT_JSON
from tests.jobs.test_events import MATE, REALISTIC, REVIEW, paths
from tests.tenants.factories import TenantFactory, UserFactory, make_bot, make_default

pytestmark = pytest.mark.django_db

GITLAB = "http://127.0.0.1:9"  # a closed port: nothing leaves the machine, reads fail fast
SECRET = "hook-secret-fuzz-0123456789"
SIGNED_SECRET = "hook-secret-signed-0123456789"
SIGNING_KEY = base64.b64encode(b"k" * 32).decode()
CONFIG = """\
version: 1
agents:
  helper:
    backend: claude-code
    model: claude-sonnet-4-6
    system_prompt: Help.
    permissions: [read, comment, push_branch, open_mr]
triggers:
  - on: issue_assigned
    agent: helper
  - on: mr_opened
    agent: helper
  - on: mr_assigned
    agent: helper
  - on: comment_mention
    agent: helper
  - on: label_applied
    agent: helper
    label: [a, mate]
  - on: pipeline_failed
    agent: helper
"""
FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def tenants(settings, monkeypatch):
    """A tenant with bots and a config, and one that also has a signing secret."""
    settings.MATE_ALLOW_PRIVATE_GITLAB = True
    monkeypatch.setattr(ingest, "enqueue_processing", lambda delivery_id: None)
    monkeypatch.setattr("jobs.services.lifecycle.enqueue_run", lambda job_id: None)
    owner = UserFactory()
    plain = TenantFactory(name="Fuzz", gitlab_url=GITLAB, webhook_secret=SECRET)
    signed = TenantFactory(name="Signed", gitlab_url=GITLAB, webhook_secret=SIGNED_SECRET)
    signed.set_secret("webhook_signing_secret", f"whsec_{SIGNING_KEY}")
    signed.save()
    for tenant in (plain, signed):
        make_default(make_bot(tenant, MATE.username, gitlab_user_id=MATE.user_id))
        make_bot(tenant, REVIEW.username, gitlab_user_id=REVIEW.user_id)
        services.save_config(tenant=tenant, text=CONFIG, author=owner)
    return {"plain": plain, "signed": signed}


def _on_our_gitlab(payload: Any) -> Any:
    """The payload with its project on the tenant's GitLab (else routing ignores it early)."""
    if isinstance(payload, dict) and isinstance(payload.get("project"), dict):
        payload["project"]["web_url"] = f"{GITLAB}/acme/widget"
    return payload


@st.composite
def gitlab_payloads(draw) -> tuple[str, Any]:
    """A realistic GitLab payload with one part replaced by random JSON or deleted."""
    hook, original = draw(st.sampled_from(REALISTIC))
    payload = copy.deepcopy(original)
    if draw(st.booleans()):
        path = draw(st.sampled_from(paths(payload)[1:]))
        parent = payload
        for step in path[:-1]:
            parent = parent[step]
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(EVENT_JSON)
    if draw(st.booleans()):
        payload = _on_our_gitlab(payload)
    return hook, payload


ODD_JSON = [
    b'{"a": NaN}',
    b'{"a": -Infinity}',
    b'{"a": 1e400}',
    b'{"a": "\\u0000 nul"}',
    b'{"a\\u0000": "\\ud800 lone"}',
    b'{"a": ' + b"1" * 5000 + b"}",
    b'{"a": ' + b"[" * 3000 + b"]" * 3000 + b"}",
    b'{"a": ' + b"[" * 99 + b"]" * 99 + b"}",
    b'{"a": "\xff\xfe"}',
    b"\xef\xbb\xbf{}",
    b"[]",
    b"null",
    b"",
]


@st.composite
def bodies(draw) -> tuple[str, bytes]:
    kind = draw(st.sampled_from(["gitlab"] * 4 + ["json", "bytes", "odd"]))
    hook = draw(
        st.sampled_from(["Issue Hook", "Note Hook", "Merge Request Hook", "Pipeline Hook"])
        | st.sampled_from(["Push Hook", "System Hook", "Confidential Note Hook", ""])
        | st.text(max_size=300)
    )
    if kind == "gitlab":
        real_hook, payload = draw(gitlab_payloads())
        return draw(st.sampled_from([real_hook] * 3 + [hook])), json.dumps(payload).encode()
    if kind == "json":
        return hook, json.dumps(draw(EVENT_JSON)).encode()
    if kind == "bytes":
        return hook, draw(st.binary(max_size=2000))
    return hook, draw(st.sampled_from(ODD_JSON))


HEADER_NAMES = st.from_regex(r"\A[A-Za-z][A-Za-z0-9-]{0,40}\Z")
HEADER_VALUES = st.text(st.characters(min_codepoint=0, max_codepoint=0xFF), max_size=200) | (
    st.integers(1, 16_000).map(lambda n: "x" * n)
)


def _signature(msg_id: str, stamp: str, body: bytes) -> str:
    digest = hmac.new(base64.b64decode(SIGNING_KEY), f"{msg_id}.{stamp}.".encode() + body, "sha256")
    return "v1," + base64.b64encode(digest.digest()).decode()


@FUZZ
@given(
    # Weighted towards requests that authenticate, so that processing is fuzzed too.
    target=st.sampled_from(["plain"] * 4 + ["signed"] * 2 + ["unknown uuid", "text"]),
    text_target=st.text(min_size=1, max_size=100),
    token=st.sampled_from(["own"] * 6 + ["other tenant's", "empty", "absent", "random"]),
    random_token=st.text(st.characters(min_codepoint=32, max_codepoint=0xFF), max_size=600),
    body=bodies(),
    signing=st.sampled_from(["valid"] * 3 + ["stale", "garbage", "absent"]),
    extra=st.dictionaries(HEADER_NAMES, HEADER_VALUES, max_size=6),
    key=st.none() | HEADER_VALUES,
    content_type=st.sampled_from(["application/json", "text/plain", "", "multipart/form-data"]),
)
def test_random_webhook_requests_never_fail_the_server(
    tenants, target, text_target, token, random_token, body, signing, extra, key, content_type
):
    cache.clear()  # the failure counter would soon answer everything with 429
    tenant = tenants.get(target)
    if target == "unknown uuid":
        path = f"/hook/{uuid.uuid4()}"
    elif target == "text":
        path = "/hook/" + quote(text_target, safe="")
    else:
        path = f"/hook/{tenant.uid}"
    own = {"plain": SECRET, "signed": SIGNED_SECRET}.get(target, SECRET)
    other = SIGNED_SECRET if own == SECRET else SECRET
    presented = {"own": own, "other tenant's": other, "empty": "", "random": random_token}
    hook, raw = body
    headers = {**extra, "X-Gitlab-Event": hook}
    if token in presented:
        headers["X-Gitlab-Token"] = presented[token]
    if key is not None:
        headers["Idempotency-Key"] = key
    if signing != "absent":
        msg_id, stamp = f"msg_{uuid.uuid4().hex}", str(int(time.time()))
        if signing == "stale":
            stamp = str(int(time.time()) - 3600)
        headers |= {"webhook-id": msg_id, "webhook-timestamp": stamp}
        sig = _signature(msg_id, stamp, raw) if signing != "garbage" else random_token
        headers["webhook-signature"] = sig
    before = Delivery.objects.count()

    response = Client().post(path, data=raw, content_type=content_type, headers=headers)

    assert response.status_code < 500
    event(f"answer {response.status_code}")
    authentic = tenant is not None and token == "own"
    if target == "signed":
        authentic = authentic and signing == "valid"
    if response.status_code == 401:
        assert response.content == b""
    if not authentic:
        assert response.status_code in (401, 404, 429), response.status_code
        assert Delivery.objects.count() == before
        return
    assert response.status_code in (200, 400), response.content
    if response.status_code == 200:
        delivery = Delivery.objects.get(uid=response.json()["delivery"])
        assert delivery.tenant == tenant
        process_delivery(delivery.pk)
        delivery.refresh_from_db()
        assert delivery.state == Delivery.State.PROCESSED
        assert delivery.outcomes.exists()
        for outcome in delivery.outcomes.all():
            event(f"routed: {outcome.resolution}")


def test_json_that_databases_cannot_store_is_refused_or_made_storable(tenants):
    """Found by the fuzzer: NaN, Infinity, 1e400 and 3000-deep nesting were 500s (both
    databases); NUL and lone surrogates were 500s on PostgreSQL (jsonb refuses them)."""
    client = Client()
    headers = {"X-Gitlab-Token": SECRET, "X-Gitlab-Event": "Issue Hook"}
    url = f"/hook/{tenants['plain'].uid}"
    for raw in ODD_JSON[:3] + [ODD_JSON[5], ODD_JSON[6]]:
        response = client.post(url, raw, content_type="application/json", headers=headers)
        assert response.status_code == 400, raw[:40]
    for raw in ODD_JSON[3:5]:
        response = client.post(url, raw, content_type="application/json", headers=headers)
        assert response.status_code == 200, raw
        delivery = Delivery.objects.get(uid=response.json()["delivery"])
        assert "\x00" not in json.dumps(delivery.body, ensure_ascii=False)
        assert "\ufffd" in json.dumps(delivery.body, ensure_ascii=False)
    weird = {
        "X-Gitlab-Token": SECRET,
        "X-Gitlab-Event": "Issue\x00Hook",
        "Idempotency-Key": "k\x00",
    }
    response = client.post(url, b"{}", content_type="application/json", headers=weird)
    assert response.status_code == 200


# --- Processing with a GitLab that answers: random .mate.yml files ------------------------------

REPO_FILES = st.one_of(
    st.none(),
    st.text(max_size=300),
    st.sampled_from(
        [
            "version: 1\n",
            "version: 1\nagents:\n  helper:\n    permissions: [read, comment, merge, touch_ci]\n",
            "version: 1\ntriggers:\n  - on: issue_assigned\n    agent: helper\n",
            "version: 1\nagents:\n  evil:\n    backend: claude-code\n    model: x\n"
            "    system_prompt: x\n    permissions: [merge]\ntriggers:\n"
            "  - on: issue_assigned\n    agent: evil\n",
            "a: &a [*a]\n",
            "!!python/object/apply:os.system ['true']\n",
            "x: " + "[" * 200 + "]" * 200 + "\n",
            "policies:\n  cooldown: -5m\n  concurrency: 99999999999999999999\n",
        ]
    ),
)


class _StandInReader:
    """GitLab as routing sees it: the project is visible and the config file is ``text``."""

    text: str | None = None

    def __init__(self, tenant, bot) -> None:
        self.bot = bot

    def project_visible(self, project_id: int) -> bool:
        return True

    def repo_file(self, project_id: int, path: str, ref: str) -> RepoFile:
        return RepoFile(text=self.text, commit="0123456789abcdef0123456789abcdef01234567")

    # The confirmation's reads (SPEC 5.3 step 3a): an object assigned to the bot, no note, no
    # pipeline; the actor a Developer (step 4a).
    def issuable(self, project_id: int, kind: str, iid: int) -> dict:
        bot = {"id": self.bot.gitlab_user_id, "username": self.bot.username}
        return {"iid": iid, "assignees": [bot], "labels": ["mate"], "state": "opened"}

    def note(self, project_id: int, kind: str, iid: int, note_id: int) -> None:
        return None

    def pipeline(self, project_id: int, pipeline_id: int) -> dict:
        return {"id": pipeline_id, "status": "failed", "user": {"id": 1, "username": "root"}}

    def member(self, project_id: int, user_id: int) -> dict:
        return {"id": user_id, "access_level": 30}


@FUZZ
@given(case=gitlab_payloads(), repo_file=REPO_FILES, fresh=st.booleans())
def test_processing_any_accepted_delivery_never_raises(
    tenants, monkeypatch, case, repo_file, fresh
):
    monkeypatch.setattr("jobs.routing.reads.BotReader", _StandInReader)
    _StandInReader.text = repo_file
    tenant = tenants["plain"]
    if fresh:  # else earlier jobs pile up, for the loop breaker, cooldown and queue gates
        Job.objects.all().delete()
    hook, payload = case
    try:
        body = webhooks.parse_body(json.dumps(_on_our_gitlab(payload)).encode())
    except ValueError:
        return  # the endpoint answers 400 (the test above)
    if not isinstance(body, dict):
        return
    delivery, _ = ingest.accept_delivery(
        tenant=tenant, hook=hook, headers={}, body=body, idempotency_key=None
    )
    process_delivery(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.PROCESSED
    outcomes = list(DeliveryEvent.objects.filter(delivery=delivery))
    assert outcomes
    assert {o.resolution for o in outcomes} <= set(Resolution.values)
    # Every outcome is a decision with its reason, not routing's last-resort catch of an
    # exception (out-of-range ids and over-long paths included: they are ignored, with why).
    assert not [o.reason for o in outcomes if o.reason.startswith(SAFETY_NET)]
    for outcome in outcomes:
        event(f"routed: {outcome.resolution}")
    ceiling = {"read", "comment", "push_branch", "open_mr"}  # the tenant's agent (CONFIG)
    for job in Job.objects.filter(delivery=delivery):
        assert set(job.snapshot["authorities"]) <= ceiling  # T4: never above the tenant's agent


SAFETY_NET = "could not route this event"  # jobs.services.routing._route_safely


def _process_with_visible_project(tenants, monkeypatch, change) -> list[str]:
    """Route one realistic delivery per hook type, changed by ``change``, on a project the bot
    can see; what went wrong (an exception, a delivery left unprocessed, an outcome that is
    routing's last-resort catch of an exception rather than a decision)."""
    monkeypatch.setattr("jobs.routing.reads.BotReader", _StandInReader)
    _StandInReader.text = None
    problems = []
    for hook, original in REALISTIC:
        payload = _on_our_gitlab(copy.deepcopy(original))
        change(payload)
        delivery, _ = ingest.accept_delivery(
            tenant=tenants["plain"], hook=hook, headers={}, body=payload, idempotency_key=None
        )
        try:
            process_delivery(delivery.pk)
        except Exception as exc:  # the delivery would stay accepted and be retried for ever
            problems.append(f"{hook}: {type(exc).__name__}: {exc}")
            continue
        delivery.refresh_from_db()
        if delivery.state != delivery.State.PROCESSED:
            problems.append(f"{hook}: left {delivery.state}")
        for outcome in delivery.outcomes.all():
            if outcome.reason.startswith(SAFETY_NET):
                problems.append(f"{hook}: {outcome.event}: {outcome.reason}")
    return problems


def _ignored_reasons() -> list[str]:
    return list(
        DeliveryEvent.objects.filter(resolution=Resolution.IGNORED).values_list("reason", flat=True)
    )


def test_out_of_range_ids_are_a_logged_outcome_not_an_exception(tenants, monkeypatch):
    def huge_ids(payload):
        for key in ("object_attributes", "merge_request", "issue"):
            part = payload.get(key)
            if isinstance(part, dict):
                part.update({k: 2**70 for k in ("iid", "id") if k in part})

    assert _process_with_visible_project(tenants, monkeypatch, huge_ids) == []
    reasons = _ignored_reasons()
    assert any("out of range (GitLab ids fit in 64 bits)" in reason for reason in reasons)
    assert not Job.objects.exists()


def test_a_very_long_project_path_is_a_logged_outcome_not_an_exception(tenants, monkeypatch):
    def long_path(payload):
        payload["project"]["path_with_namespace"] = "group/" + "sub/" * 130 + "widget"

    assert _process_with_visible_project(tenants, monkeypatch, long_path) == []
    reasons = _ignored_reasons()
    assert "project path is 532 characters long; Mate stores at most 500" in reasons
    assert not Job.objects.exists()
