"""``make compose-check``: the production install of README, run for real, and one job to DONE.

1. builds what a registry would give (stand-ins of python:3.11-slim, postgres:15 and redis:7
   from Debian's packages, unless real images of those names are present), the default agent
   image (``jobs/agent/build.sh agent``) and the application image from the ``Dockerfile``
   (with the wheels of ``deploy/wheels``, as no package index is reachable from a build here);
2. writes an ``.env`` as README says and brings ``compose.yaml`` up under its own project name;
3. creates the first operator and a tenant with ``manage.py`` inside the web container, starts
   the GitLab simulator and the LLM stand-in on the host's address of the jobs network, adds the
   project's webhook to the published port and assigns an issue to the bot;
4. waits for the job, which the worker starts through the host's Docker socket, to end, checks
   that it is DONE / SUCCESS with the agent's note on the issue, and prints its status;
5. takes the stack down again (``--keep`` leaves it running for a look).

Exit 0 when the job is DONE / SUCCESS, 1 when it ran and failed, 2 when the stack did not come up.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path
from urllib.error import URLError
from urllib.request import urlopen

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mate.cli.demo import PROJECT, seed_gitlab  # noqa: E402
from tests.gitlab_sim import GitLabSim  # noqa: E402
from tests.llm_sim import LLMSim  # noqa: E402

PROJECT_NAME = "matecheck"
JOBS_SUBNET, JOBS_GATEWAY = "10.213.0.0/24", "10.213.0.1"
JOBS_NETWORK = "mate-jobs"


class CheckError(Exception):
    """The stack did not come up or did not answer; the message says where it stopped."""


def say(text: str) -> None:
    print(f"compose-check: {text}", flush=True)


def run(*argv: str, stdin: str | None = None, check: bool = True) -> str:
    done = subprocess.run(argv, input=stdin, capture_output=True, text=True, cwd=ROOT)
    if check and done.returncode != 0:
        raise CheckError(
            f"{' '.join(argv[:4])} ... exited {done.returncode}:\n{done.stderr[-3000:]}"
        )
    return done.stdout


def compose_command() -> list[str]:
    if subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    raise CheckError("neither `docker compose` nor `docker-compose` is installed")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def write_env(folder: Path, web_port: int, tool_port: int) -> Path:
    """The `.env` of README's production section, with fresh secrets."""
    key = base64.b64encode(os.urandom(32)).decode()
    lines = {
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "MATE_ENCRYPTION_KEYS": f"k1:{key}",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DOCKER_GID": str(os.stat("/var/run/docker.sock").st_gid),
        "MATE_WEB_PORT": str(web_port),
        "MATE_TOOL_PORT": str(tool_port),
        "MATE_JOBS_SUBNET": JOBS_SUBNET,
        "MATE_JOBS_GATEWAY": JOBS_GATEWAY,
        # The simulator runs on this host's private address: a self-managed GitLab would too.
        "MATE_ALLOW_PRIVATE_GITLAB": "1",
    }
    path = folder / ".env"
    path.write_text("".join(f"{k}={v}\n" for k, v in lines.items()))
    path.chmod(0o600)
    return path


def write_override(folder: Path, llm_url: str) -> Path:
    """The one thing a real install does not have: the model is the LLM stand-in."""
    path = folder / "compose.check.yaml"
    path.write_text(
        "services:\n  worker:\n    environment:\n"
        f"      MATE_ANTHROPIC_BASE_URL: {json.dumps(llm_url)}\n"
    )
    return path


def free_jobs_network() -> None:
    """An earlier `make run` or test run may have left Mate's own mate-jobs network behind."""
    found = run("docker", "network", "ls", "-q", "--filter", f"name=^{JOBS_NETWORK}$").split()
    if not found:
        return
    attached = run("docker", "network", "inspect", "-f", "{{len .Containers}}", JOBS_NETWORK)
    if attached.strip() != "0":
        raise CheckError(f"the network {JOBS_NETWORK} is in use by containers; stop them first")
    run("docker", "network", "rm", JOBS_NETWORK)


def wait_healthy(url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urlopen(url, timeout=3) as answer:  # noqa: S310 (loopback http)
                if answer.status == 200:
                    return
        except (URLError, OSError):
            pass
        time.sleep(1)
    raise CheckError(f"{url} did not answer 200 within {seconds:.0f} s")


def published_addresses(compose: list[str]) -> set[str]:
    """Host addresses the web container's port 8000 is published on."""
    container = run(*compose, "ps", "-q", "web").strip()
    bindings = json.loads(
        run("docker", "inspect", "-f", "{{json .HostConfig.PortBindings}}", container)
    )
    return {b["HostIp"] or "all interfaces" for b in bindings.get("8000/tcp") or []}


SETUP_TENANT = """
import json
from django.contrib.auth import get_user_model
from mate.cli.demo import prepare_tenant
owner = get_user_model().objects.get(username="operator")
tenant = prepare_tenant(owner, {gitlab_url!r}, {pat!r}, {llm_key!r})
print("RESULT " + json.dumps({{"uid": str(tenant.uid), "secret": tenant.reveal_secret("webhook_secret")}}))
"""

JOB_STATUS = """
import json
from jobs.models import Job
job = Job.objects.filter(tenant__uid={tenant!r}).order_by("-created_at").first()
print("RESULT " + json.dumps(job and {{"uid": str(job.uid), "status": job.status,
      "outcome": job.outcome, "exit_code": job.exit_code, "iid": job.object_iid,
      "timeline": [f"{{e.kind}} {{json.dumps(e.data)[:300]}}" for e in job.events.all()][-8:]}}))
"""


def manage(compose: list[str], *args: str, stdin: str | None = None) -> str:
    return run(*compose, "exec", "-T", "web", "python", "manage.py", *args, stdin=stdin)


def result_of(output: str):
    for line in output.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line.removeprefix("RESULT "))
    raise CheckError(f"manage.py printed no result:\n{output[-2000:]}")


def wait_job(compose: list[str], tenant: str, seconds: float) -> dict:
    deadline, job = time.monotonic() + seconds, None
    while time.monotonic() < deadline:
        job = result_of(manage(compose, "shell", stdin=JOB_STATUS.format(tenant=tenant)))
        if job and job["status"] in ("DONE", "ERRORED", "CANCELED"):
            return job
        time.sleep(2)
    raise CheckError(f"the job did not end within {seconds:.0f} s (last seen: {job})")


def build_wheels(wheels: Path) -> None:
    """Mate's dependencies as wheels, for a build that reaches no package index.

    pip runs in the base image itself, so that environment markers are those of its Python
    (Debian's 3.11.2 needs async-timeout for redis; a newer host Python would not fetch it).
    It reaches the index as this host does: the host's CA bundle is mounted for it.
    """
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = [*project["dependencies"], *project_build_requirements()]
    bundle = "/etc/ssl/certs/ca-certificates.crt"
    mounts = ["-v", f"{wheels}:/wheels"]
    if Path(bundle).exists():
        mounts += ["-v", f"{bundle}:{bundle}:ro", "-e", f"PIP_CERT={bundle}"]
    subprocess.run(
        ["docker", "run", "--rm", *mounts, "python:3.11-slim",
         "pip", "wheel", "--quiet", "--disable-pip-version-check", "--wheel-dir", "/wheels",
         *requirements],
        check=True,
    )  # fmt: skip


def project_build_requirements() -> list[str]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]["requires"]


def build_images(compose: list[str]) -> None:
    say("stand-in base images (cached by recipe)")
    subprocess.run(["bash", "deploy/standins/build.sh"], cwd=ROOT, check=True)
    say("the default agent image (cached by recipe)")
    subprocess.run(["bash", "jobs/agent/build.sh", "agent"], cwd=ROOT, check=True)
    say("wheels for the application image (resolved by the image's own Python)")
    build_wheels(ROOT / "deploy" / "wheels")
    say("the application image (Dockerfile)")
    subprocess.run(
        [*compose, "build", "--force-rm", "--build-arg", "WHEELS_ONLY=1", "web"],
        cwd=ROOT,
        check=True,
    )


def check(args: argparse.Namespace) -> int:
    base = compose_command()
    folder = Path(tempfile.mkdtemp(prefix="mate-compose-check."))
    web_port, tool_port, llm_port = free_port(), free_port(), free_port()
    env_file = write_env(folder, web_port, tool_port)
    llm_key = f"sk-ant-api03-check-{secrets.token_urlsafe(24)}"
    llm = LLMSim(host=JOBS_GATEWAY, port=llm_port, script="note", api_key=llm_key)
    override = write_override(folder, llm.url)
    compose = [*base, "--project-name", PROJECT_NAME, "--env-file", str(env_file),
               "-f", str(ROOT / "compose.yaml"), "-f", str(override)]  # fmt: skip
    sim, tenant_uid = None, "-"
    try:
        build_images(compose)
        free_jobs_network()
        say("docker compose up")
        run(*compose, "up", "-d")
        web = f"http://127.0.0.1:{web_port}"
        wait_healthy(f"{web}/healthz", 180)
        addresses = published_addresses(compose)
        say(f"web is published on {sorted(addresses)} only")
        if addresses != {"127.0.0.1", JOBS_GATEWAY}:
            raise CheckError(
                f"web is published on {sorted(addresses)}, not loopback + jobs gateway"
            )
        say("first operator: manage.py mate ensure-operator")
        manage(compose, "mate", "ensure-operator")
        sim = GitLabSim(host=JOBS_GATEWAY).start()
        llm.start()
        project, human, pat = seed_gitlab(sim)
        say(f"tenant for {sim.url}/{PROJECT}: manage.py shell")
        setup = SETUP_TENANT.format(gitlab_url=sim.url, pat=pat, llm_key=llm_key)
        tenant = result_of(manage(compose, "shell", stdin=setup))
        tenant_uid = tenant["uid"]
        sim.add_hook(project, f"{web}/hook/{tenant['uid']}", token=tenant["secret"])
        say(
            "assigning issue #1 to @mate-bot: the simulator sends the webhook to the published port"
        )
        emission = sim.assign_issue(project, 1, ["mate-bot"], by=human)
        if not emission or not all(d.ok for d in emission):
            raise CheckError(
                f"the webhook was not accepted: {[(d.status, d.error) for d in emission]}"
            )
        job = wait_job(compose, tenant["uid"], args.timeout)
        notes = [n for n in sim.issue(project, job["iid"]).notes if not n.system]
        note = (
            f'"{notes[-1].body[:80]}" by @{sim.state.users[notes[-1].author_id].username}'
            if notes
            else None
        )
        say(f"job {job['uid']}: status {job['status']}, outcome {job['outcome']}")
        say(f"note on issue #{job['iid']}: {note or 'none'}")
        ok = job["status"] == "DONE" and job["outcome"] == "SUCCESS" and bool(notes)
        if not ok:
            say(f"the job did not succeed (exit code {job['exit_code']}); its timeline ends:")
            print("\n".join(job["timeline"]))
        return 0 if ok else 1
    except CheckError as exc:
        say(f"FAILED: {exc}")
        print(run(*compose, "logs", "--tail", "40", check=False)[-8000:])
        return 2
    finally:
        if args.keep:
            say(f"left running: {' '.join(compose)} down -v")
        else:
            run(*compose, "down", "-v", "--remove-orphans", check=False)
            for container in run(
                "docker", "ps", "-aq", "--filter", f"label=mate.tenant={tenant_uid}", check=False
            ).split():
                run("docker", "rm", "-f", container, check=False)
        llm.stop()
        if sim is not None:
            sim.stop()
        shutil.rmtree(folder, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=300, help="seconds to wait for the job")
    parser.add_argument("--keep", action="store_true", help="leave the stack running")
    return check(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
