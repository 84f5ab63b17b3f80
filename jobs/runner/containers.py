"""Docker Engine API calls for job containers (SPEC §6.3), through the ``docker`` package.

The engine is ``DOCKER_HOST`` or the local socket. Every error leaving this module is a
``RunnerError`` with a message that names what failed and never carries an environment value.

How a container reaches the tool service: job containers sit on the dedicated bridge network
``mate-jobs`` (inter-container traffic disabled, so jobs cannot talk to each other). Its gateway
is the Docker host's address on that bridge, so a Mate web server listening there (or on
0.0.0.0) is reachable at ``http://<gateway>:MATE_TOOL_PORT``. ``MATE_TOOL_BASE_URL`` overrides
the address when the tool service lives elsewhere (another host, a reverse proxy, a compose
service attached to ``mate-jobs``).
"""

from __future__ import annotations

import ipaddress
import logging
import re
import threading
import time
from collections.abc import Iterator

import docker
from django.conf import settings
from django.core.cache import cache
from docker.errors import APIError, DockerException, ImageNotFound, NotFound
from docker.types import Mount

from jobs.runner import hardening

log = logging.getLogger(__name__)

STOP_GRACE_SECONDS = 10  # SIGTERM, then SIGKILL after this (SPEC §6.7)
RUNTIME_LABEL = "mate.runtime"
_RUNTIME_LOCK_SECONDS = 120
_local = threading.local()


class RunnerError(Exception):
    """A Docker operation failed; the message is safe for a job's timeline."""


class ContainerExists(RunnerError):
    """A container with the job's name exists already: the job was launched before."""


def engine() -> docker.DockerClient:
    """A Docker client for this thread (DOCKER_HOST or the local socket)."""
    client = getattr(_local, "client", None)
    if client is None:
        try:
            client = docker.from_env(version="auto", timeout=settings.MATE_DOCKER_TIMEOUT)
        except DockerException as exc:
            if "Permission denied" in str(exc):
                raise RunnerError(
                    "the Docker engine refused this process (permission denied on its socket): "
                    "run the worker as a member of the socket's group (compose: DOCKER_GID in "
                    ".env, `stat -c %g /var/run/docker.sock`)"
                ) from None
            raise RunnerError(f"the Docker engine is not reachable ({type(exc).__name__})")
        _local.client = client
    return client


def _fail(what: str, exc: Exception) -> RunnerError:
    detail = getattr(exc, "explanation", None) or type(exc).__name__
    return RunnerError(f"Docker could not {what}: {str(detail)[:300]}")


# --- network ----------------------------------------------------------------------------


def ensure_network(client: docker.DockerClient):
    """The ``mate-jobs`` bridge network, created when missing (never the host network)."""
    try:
        network = client.networks.get(hardening.NETWORK)
    except NotFound:
        try:
            network = client.networks.create(
                hardening.NETWORK,
                driver="bridge",
                check_duplicate=True,
                labels={"mate.managed": "1"},
                options={"com.docker.network.bridge.enable_icc": "false"},
            )
        except APIError as exc:
            if exc.status_code != 409:
                raise _fail(f"create the network {hardening.NETWORK}", exc)
            network = client.networks.get(hardening.NETWORK)
    except DockerException as exc:
        raise _fail(f"inspect the network {hardening.NETWORK}", exc)
    if network.attrs.get("Driver") != "bridge":
        raise RunnerError(
            f"the Docker network {hardening.NETWORK} exists with driver "
            f"{network.attrs.get('Driver')!r}; remove it so Mate can create a bridge network"
        )
    return network


def bridge_gateway(network) -> str | None:
    """The host's address on a bridge network (Docker's first address when it names none)."""
    for config in (network.attrs.get("IPAM") or {}).get("Config") or []:
        if config.get("Gateway"):
            return config["Gateway"].split("/")[0]
        if config.get("Subnet"):
            return str(next(ipaddress.ip_network(config["Subnet"], strict=False).hosts()))
    return None


def tool_base_url(client: docker.DockerClient) -> str:
    """Where containers reach the tool service: MATE_TOOL_BASE_URL, else the bridge gateway."""
    if settings.MATE_TOOL_BASE_URL:
        return settings.MATE_TOOL_BASE_URL.rstrip("/")
    network = ensure_network(client)
    gateway = bridge_gateway(network)
    if not gateway:
        raise RunnerError(
            f"the Docker network {hardening.NETWORK} has no gateway address; "
            "set MATE_TOOL_BASE_URL to the tool service's address as seen from a container"
        )
    return f"http://{gateway}:{settings.MATE_TOOL_PORT}"


# --- images and the runtime volume ------------------------------------------------------


def local_image(client: docker.DockerClient, ref: str, *, pull: bool = True):
    """The image ``ref``, pulled when it is not on the engine (and ``pull`` allows it)."""
    try:
        return client.images.get(ref)
    except ImageNotFound:
        if not pull:
            raise RunnerError(
                f"the image {ref} is not on the Docker engine; build or load it there"
            )
    except DockerException as exc:
        raise _fail(f"inspect the image {ref}", exc)
    try:
        return client.images.pull(ref)
    except DockerException as exc:
        raise _fail(f"pull the image {ref}", exc)


def runtime_volume_name(image_id: str) -> str:
    """One volume per default image id and installation scope."""
    scope = re.sub(r"[^A-Za-z0-9_.-]", "-", settings.MATE_CONTAINER_SCOPE)[:40]
    return f"mate-runtime-{scope}-{image_id.split(':')[-1][:12]}"


def ensure_runtime_volume(client: docker.DockerClient, default_image: str) -> str:
    """A volume holding ``/opt/mate`` of the default agent image, one per image id.

    Docker copies an image's content into an empty named volume when a container that mounts it
    is created; a throwaway container (never started) does the copy. A lock keeps two workers
    from filling the same volume at once. A volume of that name without Mate's label was made
    empty by Docker itself (a job container raced a prune): it is removed and filled anew.
    """
    image = local_image(client, default_image, pull=False)
    name = runtime_volume_name(image.id)
    if _volume_exists(client, name):
        return name
    lock = f"mate:runtime-volume:{name}"
    deadline = time.monotonic() + _RUNTIME_LOCK_SECONDS
    while not cache.add(lock, "1", timeout=_RUNTIME_LOCK_SECONDS):
        if time.monotonic() > deadline:
            raise RunnerError(f"timed out waiting for the runtime volume {name}")
        time.sleep(0.2)
    try:
        if not _volume_exists(client, name):
            _fill_volume(client, image.id, name)
    finally:
        cache.delete(lock)
    return name


def _volume_exists(client: docker.DockerClient, name: str) -> bool:
    try:
        volume = client.volumes.get(name)
    except NotFound:
        return False
    except DockerException as exc:
        raise _fail(f"inspect the volume {name}", exc)
    if (volume.attrs.get("Labels") or {}).get(RUNTIME_LABEL):
        return True
    try:
        volume.remove()
    except DockerException as exc:
        raise _fail(f"replace the unfilled runtime volume {name}", exc)
    return False


def _fill_volume(client: docker.DockerClient, image_id: str, name: str) -> None:
    labels = {RUNTIME_LABEL: image_id, hardening.LABEL_SCOPE: settings.MATE_CONTAINER_SCOPE}
    mount = Mount(hardening.RUNTIME_PATH, name, type="volume", labels=labels)
    try:
        helper = client.containers.create(
            image_id,
            entrypoint=[hardening.ENTRYPOINT],
            mounts=[mount],
            network_mode="none",
            labels=labels,
        )
        helper.remove(force=True)
    except DockerException as exc:
        raise _fail(f"fill the runtime volume {name} from the default agent image", exc)


def prune_runtime_volumes(client: docker.DockerClient, keep: str | None) -> int:
    """Remove this scope's runtime volumes of older default images that no container uses."""
    removed = 0
    scope = f"{hardening.LABEL_SCOPE}={settings.MATE_CONTAINER_SCOPE}"
    for volume in client.volumes.list(filters={"label": [RUNTIME_LABEL, scope]}):
        if volume.name == keep:
            continue
        try:
            volume.remove()
            removed += 1
        except APIError:  # in use by a running job: next time
            continue
    return removed


# --- containers -------------------------------------------------------------------------


def create(client: docker.DockerClient, kwargs: dict):
    """Create a container from the hardening template's kwargs; ContainerExists on a name clash."""
    try:
        return client.containers.create(**kwargs)
    except APIError as exc:
        if exc.status_code == 409:
            raise ContainerExists(f"a container named {kwargs['name']} exists already")
        raise _fail(f"create the container {kwargs['name']}", exc)
    except DockerException as exc:
        raise _fail(f"create the container {kwargs['name']}", exc)


def start(container) -> None:
    try:
        container.start()
    except DockerException as exc:
        raise _fail(f"start the container {container.name}", exc)


def get(client: docker.DockerClient, ref: str):
    """The container by id or name, or None when it is gone."""
    if not ref:
        return None
    try:
        return client.containers.get(ref)
    except NotFound:
        return None
    except DockerException as exc:
        raise _fail(f"inspect the container {ref}", exc)


def state(container) -> tuple[bool, int | None]:
    """(running, exit code) after a fresh inspect; a vanished container is (False, None)."""
    try:
        container.reload()
    except NotFound:
        return False, None
    except DockerException as exc:
        raise _fail(f"inspect the container {container.name}", exc)
    st = container.attrs.get("State") or {}
    running = bool(st.get("Running") or st.get("Restarting"))
    return running, (None if running else st.get("ExitCode"))


def log_chunks(client: docker.DockerClient, container_id: str, since: int | None = None):
    """Follow stdout and stderr (combined) as raw byte chunks until the container stops."""
    kwargs = {"stream": True, "follow": True, "stdout": True, "stderr": True}
    if since is not None:
        kwargs["since"] = since
    return client.api.logs(container_id, **kwargs)


def lines(chunks, *, max_line: int = 8000) -> Iterator[str]:
    """Split a chunk stream into text lines (the last partial line is flushed at the end)."""
    buffer = b""
    for chunk in chunks:
        buffer += chunk
        while b"\n" in buffer or len(buffer) > max_line:
            head, sep, rest = buffer.partition(b"\n")
            if not sep:
                head, rest = buffer[:max_line], buffer[max_line:]
            buffer = rest
            yield head.decode("utf-8", "replace").rstrip("\r")
    if buffer:
        yield buffer.decode("utf-8", "replace").rstrip("\r")


def stop(container, *, grace: int = STOP_GRACE_SECONDS) -> None:
    """SIGTERM, then SIGKILL after ``grace`` seconds (Docker's own stop semantics)."""
    try:
        container.stop(timeout=grace)
    except NotFound:
        return
    except DockerException as exc:
        raise _fail(f"stop the container {container.name}", exc)


def remove(container) -> None:
    try:
        container.remove(force=True, v=False)
    except NotFound:
        return
    except APIError as exc:
        if exc.status_code == 409 and "in progress" in str(exc.explanation or ""):
            return  # another remover is already at it
        raise _fail(f"remove the container {container.name}", exc)
    except DockerException as exc:
        raise _fail(f"remove the container {container.name}", exc)


def labelled(client: docker.DockerClient, scope: str) -> list:
    """Every job container of this Mate installation (``mate.scope``), running or not."""
    filters = {"label": [hardening.LABEL_JOB, f"{hardening.LABEL_SCOPE}={scope}"]}
    try:
        return client.containers.list(all=True, filters=filters, ignore_removed=True)
    except DockerException as exc:
        raise _fail("list job containers", exc)


# Engine CPU counts by engine address: asked once per process (``docker info`` is a slow call and
# the count does not change while the engine runs), not at every launch.
_engine_cpus: dict[str, float] = {}
_engine_cpus_lock = threading.Lock()


def engine_cpus(client: docker.DockerClient) -> float | None:
    """The engine's CPU count, cached per process and engine; None when unknown (not cached,
    so that it is asked again next time)."""
    key = str(getattr(getattr(client, "api", None), "base_url", ""))
    with _engine_cpus_lock:
        if key in _engine_cpus:
            return _engine_cpus[key]
    try:
        cpus = float(client.info().get("NCPU") or 0) or None
    except DockerException:
        return None
    if cpus is not None:
        with _engine_cpus_lock:
            _engine_cpus[key] = cpus
    return cpus
