"""``mate demo``: the whole product on this machine in a minute (``make demo``, issue #10).

Starts, on the address job containers reach (the gateway of the ``mate-jobs`` Docker bridge):
the GitLab simulator and the LLM stand-in (in this process), then Mate itself with its embedded
defaults (web, worker and beat through honcho and the Procfile). Creates or updates the tenant
"Mate demo" owned by the operator account, with a bot, an LLM key, a config and the project's
webhook; assigns an issue to the bot and prints where to watch the job live in the console.

The real default agent image runs the job: claude-code clones the project, reads the issue
through Mate's tool service and leaves a note on it. Only the model (the LLM stand-in, script
``note``) and GitLab (the simulator) are stand-ins, both from ``tests/``.

``--check`` does the same without a terminal: waits for the job to end, prints its summary and
exits 0 when it is DONE/SUCCESS with the note on the issue (what the test of ``make demo`` runs).
"""

from __future__ import annotations

import argparse
import logging
import os
import queue
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO
from urllib.error import URLError
from urllib.request import urlopen

log = logging.getLogger(__name__)
help = "run the demo: GitLab simulator + LLM stand-in + Mate, an issue assigned to the bot"

TENANT_NAME = "Mate demo"
PROJECT = "demo/widgets"
MODEL = "claude-sonnet-4-5"
DEMO_CONFIG = f"""\
# The demo tenant's configuration (written by `mate demo`).
version: 1
agents:
  helper:
    backend: claude-code
    model: {MODEL}
    system_prompt: |
      You help with GitLab issues. Read the issue through the mate tools and leave a short note.
    permissions: [read, comment]
    timeout: 10m
triggers:
  - on: issue_assigned
    agent: helper
"""
FILES = {
    "README.md": "# Widgets\n\nA demo project for Mate.\n",
    "src/widgets.py": "def area(width, height):\n    return width * height\n",
}
ISSUES = [
    ("Widgets wobble on Tuesdays", "Every Tuesday the widgets wobble. Could someone look?"),
    ("Area is wrong for negative sizes", "area(-2, 3) returns -6; it should refuse."),
    ("Add a perimeter function", "We need perimeter(width, height) next to area()."),
]
NO_DOCKER = """\
make demo needs a Docker engine on this machine, and none answered ({reason}).
Agent jobs run in containers, so the demo cannot run without one.
  - Install Docker Engine: https://docs.docker.com/engine/install/
  - Start it:              sudo systemctl start docker   (or: sudo dockerd &)
  - Let your user use it:  sudo usermod -aG docker $USER  (then log in again)
  - Or point DOCKER_HOST at an engine that runs on this machine.
Check with `docker info`, then run `make demo` again.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--check",
        action="store_true",
        help="no terminal: set everything up, wait for the job to end, exit 0 on DONE/SUCCESS",
    )
    parser.add_argument(
        "--port", type=int, default=8000, help="Mate's web port on the bridge address (0: free)"
    )
    parser.add_argument("--owner", default="operator", help="the account that owns the tenant")
    parser.add_argument(
        "--pace",
        type=float,
        default=None,
        help="seconds between the LLM stand-in's streamed events, so that the job can be "
        "watched live (default 0.25; 0 with --check)",
    )
    parser.add_argument("--timeout", type=int, default=300, help="seconds to wait for the job")


class DemoError(Exception):
    """Something the newcomer must fix; the message says what."""


@dataclass
class Stack:
    gateway: str
    port: int
    sim: object
    llm: object
    tenant: object
    project: object
    human: object
    log_path: Path
    honcho: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://{self.gateway}:{self.port}"


# --- preparing -----------------------------------------------------------------------------


def _docker_gateway() -> str:
    """The mate-jobs bridge's gateway: where containers reach this machine (SPEC §6.3)."""
    from jobs.runner import containers

    try:
        client = containers.engine()
        client.ping()
        gateway = containers.bridge_gateway(containers.ensure_network(client))
    except Exception as exc:
        raise DemoError(NO_DOCKER.format(reason=str(exc)[:200] or type(exc).__name__)) from None
    if not gateway:
        raise DemoError("the Docker network mate-jobs has no gateway address; remove it and retry")
    with socket.socket() as probe:
        try:
            probe.bind((gateway, 0))
        except OSError:
            raise DemoError(
                f"the mate-jobs gateway {gateway} is not an address of this machine: the demo "
                "needs the Docker engine to run here (Docker Desktop's VM is not supported)"
            ) from None
    return gateway


def _check_image() -> None:
    from django.conf import settings

    from jobs.runner import containers

    try:
        containers.local_image(containers.engine(), settings.MATE_AGENT_IMAGE, pull=False)
    except Exception:
        raise DemoError(
            f"the agent image {settings.MATE_AGENT_IMAGE} is missing; build it with "
            "`make agent-image` (or run `make demo`, which does)"
        ) from None


def _free_port(host: str, wanted: int) -> int:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, wanted))
        except OSError:
            raise DemoError(
                f"port {wanted} on {host} is taken (another demo?); stop it or use --port"
            ) from None
        return probe.getsockname()[1]


def seed_gitlab(sim):
    """The demo project, its bot (with a PAT) and a maintainer with one issue."""
    from tests.gitlab_sim import MAINTAINER

    bot = sim.add_user("mate-bot", "Mate Bot")
    human = sim.add_user("alice", "Alice Maintainer")
    pat = sim.add_pat(bot, scopes=["api"], name="mate")
    project = sim.add_project(
        PROJECT, description="Mate's demo project", files=FILES, members={bot: MAINTAINER}
    )
    sim.add_member(project, human, MAINTAINER)
    title, body = ISSUES[0]
    sim.add_issue(project, title, body, human)
    return project, human, pat


def prepare_tenant(owner, gitlab_url: str, pat: str, llm_key: str):
    """Create or update the demo tenant: GitLab URL, bot, LLM key, config; a clean job slate.

    Also what `make compose-check` runs inside the web container (`manage.py shell`).
    """
    from jobs.models import ACTIVE_STATUSES, Job
    from jobs.services import lifecycle
    from tenants import services
    from tenants.models import Bot, Tenant

    tenant = Tenant.objects.filter(name=TENANT_NAME, memberships__user=owner).first()
    if tenant is None:
        tenant, _ = services.create_tenant(user=owner, name=TENANT_NAME, gitlab_url=gitlab_url)
    else:
        services.update_settings(tenant=tenant, gitlab_url=gitlab_url)
        for job in Job.objects.for_tenant(tenant).filter(status__in=ACTIVE_STATUSES):
            lifecycle.cancel_job(job, "a new demo started")
        lifecycle.reap()  # ends jobs whose worker (an earlier demo) is gone
        for bot in Bot.objects.for_tenant(tenant):
            services.remove_bot(bot=bot)
    services.register_bot(tenant=tenant, token=pat)
    services.set_llm_credential(tenant=tenant, provider="anthropic", key=llm_key)
    current = tenant.current_config()
    if current is None or current.text != DEMO_CONFIG:
        services.save_config(tenant=tenant, text=DEMO_CONFIG, author=owner)
    tenant.refresh_from_db()
    return tenant


def _child_env(stack: Stack) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "MATE_BIND": f"{stack.gateway}:{stack.port}",
            "DJANGO_ALLOWED_HOSTS": f"{stack.gateway},127.0.0.1,localhost",
            "MATE_PUBLIC_URL": stack.base,
            "MATE_TOOL_BASE_URL": stack.base,
            "MATE_ANTHROPIC_BASE_URL": stack.llm.url,
            "MATE_ALLOW_PRIVATE_GITLAB": "1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def _start_mate(stack: Stack, root: Path) -> None:
    honcho = Path(sys.executable).with_name("honcho")
    log = stack.log_path.open("ab")
    stack.honcho = subprocess.Popen(
        [str(honcho), "start", "-f", "Procfile"],
        cwd=root,
        env=_child_env(stack),
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,  # Ctrl-C reaches this process only; it stops honcho itself
    )
    log.close()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if stack.honcho.poll() is not None:
            raise DemoError(f"Mate did not start; see {stack.log_path}:\n{_tail(stack.log_path)}")
        try:
            with urlopen(f"{stack.base}/healthz", timeout=2) as answer:  # noqa: S310 (http)
                if answer.status == 200:
                    return
        except (URLError, OSError):
            pass
        time.sleep(0.3)
    raise DemoError(f"Mate's web server did not answer in 60 s; see {stack.log_path}")


def _stop_mate(stack: Stack) -> None:
    if stack.honcho is None or stack.honcho.poll() is not None:
        return
    stack.honcho.send_signal(signal.SIGTERM)  # honcho stops web, worker and beat
    try:
        stack.honcho.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(stack.honcho.pid, signal.SIGKILL)
        stack.honcho.wait(timeout=5)


def _remove_demo_containers(tenant) -> None:
    from jobs.runner import containers, hardening

    try:
        client = containers.engine()
        filters = {"label": [f"{hardening.LABEL_TENANT}={tenant.uid}"]}
        for container in client.containers.list(all=True, filters=filters):
            container.remove(force=True)
    except Exception as exc:  # the reaper of the next run cleans up
        log.warning("demo: could not remove the demo's containers: %s", exc)


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


# --- watching ------------------------------------------------------------------------------


def _assign(stack: Stack, iid: int) -> None:
    emission = stack.sim.assign_issue(stack.project, iid, ["mate-bot"], by=stack.human)
    failed = [d for d in emission if not d.ok]
    if failed or not emission:
        why = failed[0].error or failed[0].status if failed else "no webhook was sent"
        raise DemoError(f"the webhook to Mate failed ({why}); see {stack.log_path}")


def _job_ids(tenant) -> set[int]:
    from jobs.models import Job

    return set(Job.objects.for_tenant(tenant).values_list("pk", flat=True))


def _wait_job(tenant, known: set, timeout: float, stack: Stack):
    from jobs.models import DeliveryEvent, Job

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = Job.objects.for_tenant(tenant).exclude(pk__in=known).order_by("created_at").first()
        if job is not None:
            return job
        time.sleep(0.3)
    found = DeliveryEvent.objects.filter(tenant=tenant).order_by("-id").first()
    why = f"{found.resolution}: {found.reason}" if found else "no delivery was processed"
    raise DemoError(f"no job was created ({why}); see {stack.log_path}")


def _summary(stack: Stack, job) -> tuple[bool, str]:
    job.refresh_from_db()
    notes = [n for n in stack.sim.issue(stack.project, job.object_iid).notes if not n.system]
    seconds = (
        f"{(job.finished_at - job.started_at).total_seconds():.0f} s"
        if job.started_at and job.finished_at
        else "-"
    )
    cost = f"${job.cost_usd}" if job.cost_usd is not None else "not reported"
    lines = [
        f"Job {job.uid} ended {job.status} / {job.outcome} after {seconds}: "
        f"{job.tool_calls} tool calls, cost {cost}.",
    ]
    if notes:
        author = stack.sim.state.users[notes[-1].author_id].username
        lines.append(f'The note on issue #{job.object_iid} by @{author}: "{notes[-1].body}"')
    ok = job.status == "DONE" and job.outcome == "SUCCESS" and bool(notes)
    return ok, "\n".join(lines)


def _wait_final(job, timeout: float) -> bool:
    from jobs.models import FINAL_STATUSES

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.status in FINAL_STATUSES:
            return True
        time.sleep(0.5)
    return False


def _banner(stack: Stack, job, owner) -> str:
    tenant = stack.tenant.uid
    return f"""
================================================================================
 Mate demo: issue #{job.object_iid} of {PROJECT} was assigned to @mate-bot.

 Watch the job live:  {stack.base}/t/{tenant}/jobs/{job.uid}/
 Tenant overview:     {stack.base}/t/{tenant}/
 Sign in as:          {owner.username}  (password: printed once by `mate ensure-operator`
                      on its first run; to set a new one:
                      .venv/bin/python manage.py changepassword {owner.username})

 GitLab simulator:    {stack.sim.url}  (REST API only: {stack.sim.api_url})
 LLM stand-in:        {stack.llm.url}  (scripted model, script "note")
 Mate's own logs:     {stack.log_path}
================================================================================
"""


def _interactive(stack: Stack, job, timeout: float, out: TextIO) -> int:
    from jobs.models import FINAL_STATUSES

    requests: queue.Queue = queue.Queue()
    if sys.stdin.isatty():

        def read_enter() -> None:
            for _ in sys.stdin:
                requests.put(1)

        threading.Thread(target=read_enter, daemon=True).start()
        out.write("Press Enter to assign another issue to the bot, Ctrl-C to stop.\n")
    else:
        out.write("Ctrl-C to stop.\n")
    out.flush()
    watching = [job]
    next_issue = 1
    while True:
        if stack.honcho.poll() is not None:
            raise DemoError(f"Mate stopped; see {stack.log_path}:\n{_tail(stack.log_path)}")
        for current in list(watching):
            current.refresh_from_db()
            if current.status in FINAL_STATUSES:
                watching.remove(current)
                out.write(_summary(stack, current)[1] + "\n")
                out.flush()
        try:
            requests.get(timeout=0.5)
        except queue.Empty:
            continue
        title, body = ISSUES[next_issue % len(ISSUES)]
        next_issue += 1
        issue = stack.sim.add_issue(stack.project, title, body, stack.human)
        known = _job_ids(stack.tenant)
        _assign(stack, issue.iid)
        new = _wait_job(stack.tenant, known, timeout, stack)
        watching.append(new)
        out.write(
            f"Issue #{issue.iid} assigned: {stack.base}/t/{stack.tenant.uid}/jobs/{new.uid}/\n"
        )
        out.flush()


# --- the command ---------------------------------------------------------------------------


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def run(options: dict, out: TextIO, err: TextIO) -> int:
    stop_signals = (signal.SIGTERM, signal.SIGHUP)
    in_main = threading.current_thread() is threading.main_thread()
    previous = [signal.signal(s, _interrupt) for s in stop_signals] if in_main else []
    try:
        return _run(options, out)
    except DemoError as exc:
        err.write(f"mate demo: {exc}\n")
        return 2
    finally:
        for sig, handler in zip(stop_signals, previous, strict=False):
            signal.signal(sig, handler)


def _run(options: dict, out: TextIO) -> int:
    from django.conf import settings
    from django.contrib.auth import get_user_model

    from tests.gitlab_sim import GitLabSim
    from tests.llm_sim import LLMSim

    check = options["check"]
    pace = options["pace"] if options["pace"] is not None else (0.0 if check else 0.25)
    owner = get_user_model().objects.filter(username=options["owner"]).first()
    if owner is None:
        raise DemoError(
            f"there is no account {options['owner']!r}; run "
            "`.venv/bin/python manage.py mate ensure-operator` first (make demo does)"
        )
    gateway = _docker_gateway()
    _check_image()
    port = _free_port(gateway, options["port"])
    settings.MATE_ALLOW_PRIVATE_GITLAB = True  # this process registers the simulator's bot

    llm_key = f"sk-ant-api03-demo-{secrets.token_urlsafe(24)}"
    sim = GitLabSim(host=gateway).start()
    llm = LLMSim(host=gateway, script="note", api_key=llm_key, event_delay=pace).start()
    stack = None
    try:
        project, human, pat = seed_gitlab(sim)
        tenant = prepare_tenant(owner, sim.url, pat, llm_key)
        secret = tenant.reveal_secret("webhook_secret")
        log_path = Path(settings.VAR_DIR) / "demo.log"
        stack = Stack(gateway, port, sim, llm, tenant, project, human, log_path)
        sim.add_hook(project, f"{stack.base}/hook/{tenant.uid}", token=secret)
        out.write(f"Starting Mate (web, worker, beat) on {stack.base}; logs in {log_path}\n")
        out.flush()
        root = Path(settings.BASE_DIR)
        _start_mate(stack, root)
        known = _job_ids(tenant)
        _assign(stack, 1)
        job = _wait_job(tenant, known, options["timeout"], stack)  # a loaded machine starts slowly
        out.write(_banner(stack, job, owner))
        out.flush()
        if not check:
            return _interactive(stack, job, options["timeout"], out)
        if not _wait_final(job, options["timeout"]):
            raise DemoError(f"job {job.uid} did not end in {options['timeout']} s")
        ok, text = _summary(stack, job)
        out.write(text + "\n")
        if not ok:
            out.write(f"The job did not succeed; Mate's logs:\n{_tail(log_path)}\n")
        return 0 if ok else 1
    except KeyboardInterrupt:
        out.write("\nStopping the demo...\n")
        return 0
    finally:
        if stack is not None:
            _stop_mate(stack)
            _remove_demo_containers(stack.tenant)
        llm.stop()
        sim.stop()
