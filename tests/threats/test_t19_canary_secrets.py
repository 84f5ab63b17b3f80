"""T19: secrets in logs, task arguments, events and pages.

One full run with canary secrets and forced errors, then a search of everything Mate wrote.

The tenant's secrets are all distinctive canaries: the webhook secret and signing secret, the LLM
key, and the bot PAT. The simulated GitLab has a custom instance token prefix (an administrator
setting), so its tokens (the bot PAT, and the per-job key and clone token minted during the run)
are not ``glpat-`` shaped and only Mate's knowledge of the exact values can hide them; the job
credential is captured when it is issued. Everything travels for real: the simulator signs and
sends the webhook to a live Mate over HTTP, Celery publishes through the Redis broker
(REDIS_URL) and the queued messages are taken from Redis by the test, acting as the worker, the
job runs in a hardened container whose agent (a busybox script, a prompt-injected agent at its
worst) calls the tool service over HTTP and prints every secret it holds.

Forced errors: GitLab answers a tool call with a 500 that echoes the request (the per-job key in
it); notes carrying the LLM key, the job credential and the clone token are refused; GitLab
answers a note with a body the tool cannot use (an unexpected exception, logged with its
traceback); the agent calls a tool named after the LLM key (over REST, where the name is in the URL path, and
over MCP) and reports usage carrying secrets;
the job exits 3 (FAILURE); a second delivery's routing meets a GitLab answer that makes it raise
(logged with its traceback, the event refused).

Then: every log record (caplog at DEBUG on the root logger, and the output of Mate's own log
handler in both formats), every Redis key and value (the queued task messages decoded), every row
of every model (serialized), every answer the live Mate gave, and every console page and Django
admin page (changelist and change page of every object) must hold no canary.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import secrets as random_secrets
from dataclasses import dataclass, field

import pytest
from django.apps import apps
from django.conf import settings as django_settings
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core import serializers
from django.test import Client
from django.urls import reverse

from jobs import credentials
from jobs.models import Delivery, DeliveryEvent, Job, JobEvent, JobStatus, Outcome, Resolution
from mate.logformat import JsonFormatter
from mate.redaction import RedactingFilter
from tenants import services
from tenants.models import Bot, ConfigVersion, Membership
from tests.tenants.factories import UserFactory
from tests.threats.conftest import scripted_config
from tests.threats.test_t20_tenant_isolation import classify, site_routes
from toolservice.models import ToolCall

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

TOKEN_PREFIX = "zcanary-"  # the simulated GitLab's instance token prefix
SCRIPT = r"""
T="${MATE_TOOL_URL%/}"
call() {
  wget -q -O - --header "Authorization: Bearer $MATE_JOB_TOKEN" \
    --header "Content-Type: application/json" --post-data "$2" "$T/$1"
  echo " <- $1 (wget exit $?)"
}
call get_job_context '{}'
call get_issue '{}'
call create_issue_note "{\"body\": \"the LLM key is $ANTHROPIC_AUTH_TOKEN\"}"
call create_issue_note "{\"body\": \"my credential is $MATE_JOB_TOKEN\"}"
call create_issue_note "{\"body\": \"clone with $MATE_CLONE_TOKEN\"}"
call create_issue_note '{"body": "A first look: it wobbles."}'
call create_issue_note '{"body": "Still looking."}'
call "x$ANTHROPIC_AUTH_TOKEN" "{\"key\": \"$ANTHROPIC_AUTH_TOKEN\"}"
wget -q -O - --header "Authorization: Bearer $MATE_JOB_TOKEN" \
  --header "Content-Type: application/json" --header "Accept: application/json" \
  --post-data "{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": \"tools/call\", \"params\": {\"name\": \"x$ANTHROPIC_AUTH_TOKEN\", \"arguments\": {\"key\": \"$ANTHROPIC_AUTH_TOKEN\"}}}" \
  "$MATE_MCP_URL"
echo " <- mcp tools/call (wget exit $?)"
call _usage "{\"cost_usd\": 0.5, \"num_turns\": 2, \"usage\": {\"note\": \"$ANTHROPIC_AUTH_TOKEN $MATE_CLONE_TOKEN\"}}"
echo "my env: llm=$ANTHROPIC_AUTH_TOKEN job=$MATE_JOB_TOKEN clone=$MATE_CLONE_TOKEN"
echo "to stderr: $ANTHROPIC_AUTH_TOKEN $MATE_CLONE_TOKEN" >&2
exit 3
"""


# --- The broker: Redis, read and consumed by the test -------------------------------------------


def _decoded_bodies(value) -> list[bytes]:
    """Base64 bodies of kombu messages anywhere in a JSON value, decoded."""
    found = []
    if isinstance(value, dict):
        body = value.get("body")
        if isinstance(body, str):
            try:
                found.append(base64.b64decode(body, validate=True))
            except ValueError:
                pass
        for item in value.values():
            found += _decoded_bodies(item)
    elif isinstance(value, list):
        for item in value:
            found += _decoded_bodies(item)
    return found


@dataclass
class Broker:
    """The Redis database Celery publishes to. The test plays the worker: it takes a task
    message off its queue and runs the task, so every message can be read while it waits."""

    client: object
    snapshots: list[tuple[str, bytes]] = field(default_factory=list)
    seen_tasks: list[tuple[str, list]] = field(default_factory=list)

    def snapshot(self, when: str) -> None:
        """Every key and every value of the database, with task message bodies decoded."""
        r = self.client
        for key in r.scan_iter(count=500):
            kind = r.type(key).decode()
            if kind == "string":
                values = [r.get(key) or b""]
            elif kind == "list":
                values = r.lrange(key, 0, -1)
            elif kind == "hash":
                values = [b"%s=%s" % pair for pair in r.hgetall(key).items()]
            elif kind == "set":
                values = list(r.smembers(key))
            elif kind == "zset":
                values = [member for member, _ in r.zrange(key, 0, -1, withscores=True)]
            else:
                values = []
            label = f"redis {key.decode(errors='replace')} ({when})"
            self.snapshots.append((label, key))
            for value in values:
                self.snapshots.append((label, value))
                try:
                    parsed = json.loads(value.split(b"=", 1)[-1] if kind == "hash" else value)
                except ValueError:
                    continue
                for body in _decoded_bodies(parsed):
                    self.snapshots.append((f"{label}, decoded body", body))

    def run(self, queue: str, task_name: str, arg: int) -> None:
        """Take the newest ``task_name(arg)`` message off ``queue`` and run the task here."""
        from jobs import tasks

        runnable = {"jobs.process_delivery": tasks.process_delivery, "jobs.run_job": tasks.run_job}
        for raw in self.client.lrange(queue, 0, -1):
            message = json.loads(raw)
            if (message.get("headers") or {}).get("task") != task_name:
                continue
            args, kwargs, _embed = json.loads(base64.b64decode(message["body"]))
            if args != [arg]:
                continue
            self.client.lrem(queue, 1, raw)
            self.seen_tasks.append((task_name, args))
            runnable[task_name].apply(args=args, kwargs=kwargs, throw=True)
            return
        raise AssertionError(f"no {task_name}({arg}) message waits in the Redis queue {queue!r}")


@pytest.fixture
def broker(settings):
    """Celery through the Redis broker of REDIS_URL, and the cache on that Redis too."""
    import redis

    from mate.celery import app

    url = django_settings.CELERY_BROKER_URL
    if not url.startswith("redis://"):
        pytest.skip("T19's task-argument check needs the Redis broker: set REDIS_URL")
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": "mate",
        }
    }
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    client = redis.Redis.from_url(url)
    client.ping()
    try:
        yield Broker(client)
    finally:
        app.conf.task_always_eager = eager
        client.close()


# --- Logs ---------------------------------------------------------------------------------------


@pytest.fixture
def log_output():
    """What Mate's own log handler writes (its ``console`` handler, whose stream is swapped for
    the test), plus the same records through a JSON-format handler as in production."""
    root = logging.getLogger()
    plain, as_json = io.StringIO(), io.StringIO()
    consoles = [h for h in root.handlers if h.get_name() == "console"]
    assert consoles, "Mate's console log handler is not installed (settings.LOGGING)"
    previous = [h.setStream(plain) for h in consoles]
    json_handler = logging.StreamHandler(as_json)
    json_handler.addFilter(RedactingFilter())
    json_handler.setFormatter(JsonFormatter())
    root.addHandler(json_handler)
    try:
        yield lambda: plain.getvalue() + "\n" + as_json.getvalue()
    finally:
        root.removeHandler(json_handler)
        for handler, stream in zip(consoles, previous, strict=True):
            handler.setStream(stream)


# --- Pages ----------------------------------------------------------------------------------------


def console_pages(tenant, jobs, deliveries) -> list[str]:
    """Every console route of the tenant, with each of its objects; JSON endpoints with the
    parameters they need."""
    bot = Bot.objects.for_tenant(tenant).get()
    params = {
        "tenant": [tenant.uid],
        "bot": [bot.uid],
        "job": [j.uid for j in jobs],
        "delivery": [d.uid for d in deliveries],
        "version": list(
            ConfigVersion.objects.filter(tenant=tenant).values_list("version", flat=True)
        ),
        "member": list(Membership.objects.filter(tenant=tenant).values_list("pk", flat=True)),
    }
    extra = {
        "console:job_rows": f"?ids={','.join(str(j.uid) for j in jobs)}&top=none",
        "console:job_events": "?after=0",
    }
    urls = [reverse("console:home"), reverse("healthz"), reverse("metrics")]
    for route in site_routes():
        if classify(route) != "tenant":
            continue
        combos = [{}]
        for name in route.params:
            combos = [{**c, name: value} for c in combos for value in params[name]]
        for kwargs in combos:
            urls.append(reverse(route.name, kwargs=kwargs) + extra.get(route.name, ""))
    return urls


def admin_pages() -> list[str]:
    urls = [reverse("admin:index")]
    for model in admin.site._registry:
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        urls.append(reverse(f"{prefix}_changelist"))
        for pk in model._default_manager.values_list("pk", flat=True):
            urls.append(reverse(f"{prefix}_change", args=[pk]))
    return urls


def fetch_all(client: Client, urls: list[str]) -> list[tuple[str, int, bytes]]:
    return [(url, (r := client.get(url)).status_code, r.content) for url in urls]


# --- The search ---------------------------------------------------------------------------------


def canary_hits(canaries: dict[str, str], places: list[tuple[str, bytes | str]]) -> list[str]:
    """``where: which canary`` for every place holding a canary, whole or its last 16 chars."""
    needles = {}
    for name, value in canaries.items():
        assert value and len(value) >= 24, f"canary {name} is too short to be distinctive"
        needles[name] = (value.encode(), value[-16:].encode())
    hits = []
    for where, content in places:
        data = content.encode() if isinstance(content, str) else bytes(content)
        for name, (whole, tail) in needles.items():
            if whole in data or tail in data:
                hits.append(f"{where}: {name}")
    return hits


def database_rows() -> list[tuple[str, str]]:
    rows = []
    for model in apps.get_models():
        for obj in model._default_manager.all():
            label = f"row {model._meta.label} #{obj.pk}"
            rows.append((label, serializers.serialize("json", [obj])))
    return rows


def log_records(caplog) -> list[tuple[str, str]]:
    found = []
    for record in caplog.records:
        text = f"{record.getMessage()}\n{record.exc_text or ''}\n{record.stack_info or ''}"
        found.append((f"log record {record.name}:{record.lineno}", text + repr(vars(record))))
    return found


# --- The scenario -------------------------------------------------------------------------------


def test_a_full_job_with_forced_errors_leaves_no_canary_anywhere(
    live_stack, broker, caplog, log_output, monkeypatch
):
    caplog.set_level(logging.DEBUG)
    sim = live_stack.sim
    sim.token_prefix = TOKEN_PREFIX
    canaries = {
        "webhook secret": "whk-canary-" + random_secrets.token_urlsafe(24),
        "signing secret": "whsec_" + base64.b64encode(random_secrets.token_bytes(32)).decode(),
        "LLM key": "llm-canary-" + random_secrets.token_urlsafe(24),
    }
    issued: list[str] = []
    real_issue = credentials.issue_job_credential

    def spy_issue(job):
        token = real_issue(job)
        issued.append(token)
        return token

    monkeypatch.setattr(credentials, "issue_job_credential", spy_issue)

    # The world: a bot maintaining a project, a human, two issues; a tenant of canaries.
    bot_user = sim.add_user("mate-bot", "Mate Bot")
    human = sim.add_user("alice", "Alice Maintainer")
    canaries["bot PAT"] = sim.add_pat(bot_user, scopes=["api"], name="mate")
    project = sim.add_project(
        "acme/widgets",
        files={"README.md": "# Widgets\n"},
        members={bot_user: 40, human: 40},
    )
    sim.add_issue(project, "Widgets wobble", "They wobble on Tuesdays.", human)
    sim.add_issue(project, "Gears grind", "They grind at night.", human)
    owner = UserFactory()
    tenant, _generated = services.create_tenant(user=owner, name="Canary", gitlab_url=sim.url)
    tenant.set_secret("webhook_secret", canaries["webhook secret"])
    tenant.set_secret("webhook_signing_secret", canaries["signing secret"])
    tenant.save()
    services.register_bot(tenant=tenant, token=canaries["bot PAT"])
    services.set_llm_credential(tenant=tenant, provider="anthropic", key=canaries["LLM key"])
    config = scripted_config(SCRIPT, permissions=["read", "comment"], on="issue_assigned")
    services.save_config(tenant=tenant, text=config, author=owner)
    sim.add_hook(
        project,
        f"{live_stack.mate.url}/hook/{tenant.uid}",
        token=canaries["webhook secret"],
        signing_token=canaries["signing secret"],
    )

    # 1. The webhook: stored, answered, and processing queued in Redis (no worker yet).
    (hook,) = sim.assign_issue(project, 1, ["mate-bot"], by=human)
    assert hook.status == 200, hook.error or hook.response_body
    delivery = Delivery.objects.for_tenant(tenant).get()
    broker.snapshot("delivery queued")
    broker.run("default", "jobs.process_delivery", delivery.pk)

    # 2. Routing made a job and queued its run in Redis.
    job = Job.objects.for_tenant(tenant).get()
    assert job.status == JobStatus.STARTING
    broker.snapshot("job queued")

    # 3. The job, with GitLab failing twice on purpose.
    sim.fail_next(1, 500, method="GET", path=f"/projects/{project.id}/issues/1", reflect=True)
    sim.fail_next(1, 201, {"message": "Created"}, method="POST", path="/notes", reflect=True)
    broker.run("jobs", "jobs.run_job", job.pk)
    job.refresh_from_db()
    assert (job.status, job.outcome, job.exit_code) == (JobStatus.DONE, Outcome.FAILURE, 3)
    (canaries["job credential"],) = issued
    prefix = f"mate-job-{job.uid.hex[:8]}"
    minted = {t.name: t for t in sim.state.tokens.values() if t.name.startswith(prefix)}
    canaries["per-job key"] = minted[prefix].token
    canaries["clone token"] = minted[f"{prefix}-clone"].token
    assert all(t.revoked for t in minted.values())

    # 4. A second delivery whose routing raises: GitLab answers the .mate.yml read with a body
    #    that is no file (echoing the request, the bot PAT in it).
    sim.fail_next(1, 200, {"file_name": ".mate.yml"}, path="/repository/files/", reflect=True)
    (hook,) = sim.assign_issue(project, 2, ["mate-bot"], by=human)
    assert hook.status == 200
    second = Delivery.objects.for_tenant(tenant).filter(hook="Issue Hook").latest("id")
    assert second.pk != delivery.pk
    broker.run("default", "jobs.process_delivery", second.pk)

    # 5. Webhooks GitLab sent for the job's own note (the agent's writes) are processed too.
    sim.wait_for_deliveries()
    waiting = Delivery.objects.for_tenant(tenant).filter(state=Delivery.State.ACCEPTED)
    assert waiting.exists()
    for later in waiting:
        broker.run("default", "jobs.process_delivery", later.pk)
    broker.snapshot("end")

    # The scenario happened as intended (so the search below is not vacuous).
    assert all(f.remaining == 0 for f in sim.faults), "an injected GitLab failure was not used"
    used = {r.token for r in sim.requests if r.kind == "api"}
    assert {canaries["bot PAT"], canaries["per-job key"]} <= used
    calls = list(
        ToolCall.objects.filter(job=job)
        .order_by("created_at", "id")
        .values_list("tool", "outcome", "error_category")
    )
    assert [(c[1], c[2]) for c in calls] == [
        ("ok", ""),  # get_job_context
        ("error", "upstream"),  # get_issue: GitLab's 500
        ("denied", "validation"),  # note with the LLM key
        ("denied", "validation"),  # note with the job credential
        ("denied", "validation"),  # note with the clone token
        ("error", "upstream"),  # note: GitLab's answer made the tool raise
        ("ok", ""),  # note
        ("denied", "not_found"),  # REST: the tool named after the LLM key, in the URL path
        ("denied", "not_found"),  # MCP: the same name
    ]
    # The audit keeps the calls, not the key.
    assert [c[0] for c in calls[-2:]] == ["x[REDACTED]", "x[REDACTED]"]
    (usage,) = [e.data for e in JobEvent.objects.filter(job=job) if e.data.get("stream") == "usage"]
    assert usage["usage"] == {"note": "[REDACTED] [REDACTED]"}
    (note,) = [n for n in sim.issue(project, 1).notes if not n.system]
    assert note.body == "Still looking."
    (refused,) = DeliveryEvent.objects.filter(delivery=second)
    assert refused.resolution == Resolution.REFUSED and "could not route" in refused.reason
    logged = [r.getMessage() for r in caplog.records]
    assert any("tool create_issue_note failed unexpectedly" in m for m in logged)
    assert any(m.startswith("routing issue_assigned of delivery") for m in logged)
    assert ("jobs.run_job", [job.pk]) in broker.seen_tasks
    queued = [label for label, _ in broker.snapshots if "decoded body" in label]
    assert any("(delivery queued)" in label for label in queued), "no task message was read"
    assert any("(job queued)" in label for label in queued), "no task message was read"
    lines = [e.data.get("line", "") for e in JobEvent.objects.filter(job=job, kind="log")]
    assert any(line.startswith("my env: llm=[REDACTED]") for line in lines), lines

    # The search.
    staff = get_user_model().objects.create_superuser("staff", "staff@example.com", "pw-123456")
    operator, support = Client(), Client()
    operator.force_login(owner)
    support.force_login(staff)
    jobs = list(Job.objects.for_tenant(tenant))
    deliveries = list(Delivery.objects.for_tenant(tenant))
    pages = fetch_all(operator, console_pages(tenant, jobs, deliveries))
    pages += fetch_all(support, admin_pages())
    by_status = {url: status for url, status, _ in pages}
    for url in [f"/t/{tenant.uid}/jobs/{job.uid}/", f"/t/{tenant.uid}/deliveries/"]:
        assert by_status[url] == 200, url
    assert by_status[reverse("admin:jobs_jobevent_changelist")] == 200
    broken = [f"{url} ({status})" for url, status, _ in pages if status >= 500]
    assert not broken, f"pages failed: {broken}"

    places: list[tuple[str, bytes | str]] = []
    places += log_records(caplog)
    places.append(("Mate's log output", log_output()))
    places += broker.snapshots
    places += database_rows()
    places += [(f"page {url} ({status})", body) for url, status, body in pages]
    places += [
        (f"answer to {a.method} {a.path} ({a.status})", a.body) for a in live_stack.recorder.answers
    ]
    hits = canary_hits(canaries, places)
    assert not hits, "canary secrets leaked:\n" + "\n".join(hits)
