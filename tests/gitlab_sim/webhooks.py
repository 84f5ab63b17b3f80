"""Webhook delivery as WebHookService does it: headers, signing, records, re-sending."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import http.client
import ipaddress
import json
import queue
import re
import secrets
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlsplit

GITLAB_VERSION = "18.2.1"
# WebHookService has sent `Idempotency-Key` since GitLab 17.4 (gitlab-org/gitlab!160952);
# before that a receiver had only X-Gitlab-Event-UUID, which is new for every resend.
IDEMPOTENCY_KEY_SINCE = (17, 4)
TIMEOUT_SECONDS = 10  # Gitlab.config.gitlab.webhook_timeout

HOOK_EVENTS = {
    # hook kind -> (event flag on the hook, X-Gitlab-Event)
    "issue_hooks": ("issues_events", "Issue Hook"),
    "confidential_issue_hooks": ("confidential_issues_events", "Confidential Issue Hook"),
    "merge_request_hooks": ("merge_requests_events", "Merge Request Hook"),
    "note_hooks": ("note_events", "Note Hook"),
    "confidential_note_hooks": ("confidential_note_events", "Confidential Note Hook"),
    "pipeline_hooks": ("pipeline_events", "Pipeline Hook"),
}
DEFAULT_EVENTS = {flag for flag, _ in HOOK_EVENTS.values()}


def normalize_events(events) -> set[str]:
    if events is None:
        return set(DEFAULT_EVENTS)
    names = {e if e.endswith("_events") else f"{e}_events" for e in events}
    aliases = {"issue_events": "issues_events", "merge_request_events": "merge_requests_events"}
    return {aliases.get(n, n) for n in names}


def new_signing_token() -> str:
    """A signing token in the format GitLab accepts: ``whsec_`` + base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def signing_key(signing_token: str) -> bytes:
    if not signing_token.startswith("whsec_"):
        raise ValueError("signing_token must be whsec_<base64 of a 32-byte key>")
    try:
        key = base64.b64decode(signing_token[6:], validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("signing_token must be whsec_<base64 of a 32-byte key>") from None
    if len(key) != 32:
        raise ValueError("signing_token must encode a 32-byte key")
    return key


def sign(signing_token: str, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(signing_key(signing_token), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def require_loopback(url: str, own_host: str | None = None) -> None:
    """The simulator never talks to anything but this machine: loopback, or ``own_host`` (the
    address the simulator itself listens on, e.g. a Docker bridge gateway of this machine)."""
    host = urlsplit(url).hostname or ""
    if own_host and host == own_host:
        return
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except socket.gaierror:
        raise ValueError(f"cannot resolve hook host {host!r}") from None
    if not addresses or not all(ipaddress.ip_address(a).is_loopback for a in addresses):
        where = f"loopback or {own_host}" if own_host else "loopback"
        raise ValueError(f"hook URL must point at this machine ({where}), got {url!r}")


@dataclass
class Delivery:
    id: int
    hook_id: int
    url: str
    event: str
    payload: dict
    body: bytes
    headers: dict[str, str]
    idempotency_key: str | None  # None: a GitLab before 17.4 sent no Idempotency-Key
    event_uuid: str
    sent_at: dt.datetime
    status: int | None = None
    response_body: bytes = b""
    error: str | None = None
    redelivery_of: int | None = None
    duration: float = 0.0
    done: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 400


def version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version)[:3])


class Dispatcher:
    """Builds and sends deliveries. ``gitlab_version`` is the version the deliveries claim
    (``User-Agent``); below 17.4 they carry no ``Idempotency-Key``, as such a GitLab did not."""

    def __init__(self, instance_url: str) -> None:
        self.instance_url = instance_url
        self.gitlab_version = GITLAB_VERSION
        self.deliveries: list[Delivery] = []
        self._ids = iter(range(1, 1 << 62))
        self._lock = threading.Lock()
        self._queue: queue.Queue = queue.Queue()
        self._closed = False
        self._worker = threading.Thread(target=self._run, name="gitlab-sim-hooks", daemon=True)
        self._worker.start()

    @property
    def sends_idempotency_key(self) -> bool:
        return version_tuple(self.gitlab_version) >= IDEMPOTENCY_KEY_SINCE

    def build(
        self, hook, event: str, payload: dict, event_uuid: str, key: str | None = None
    ) -> Delivery:
        body = json.dumps(payload, separators=(",", ":")).encode()
        key = (key or str(uuid.uuid4())) if self.sends_idempotency_key else None
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"GitLab/{self.gitlab_version}",
            **({"Idempotency-Key": key} if key else {}),
            "X-Gitlab-Event": event,
            "X-Gitlab-Webhook-UUID": str(uuid.uuid4()),
            "X-Gitlab-Instance": self.instance_url,
        }
        if hook.token:
            headers["X-Gitlab-Token"] = hook.token.replace("\n", "").replace("\r", "")
        headers["X-Gitlab-Event-UUID"] = event_uuid
        if hook.signing_token:
            timestamp = int(time.time())
            msg_id = key or event_uuid
            headers["webhook-id"] = msg_id
            headers["webhook-timestamp"] = str(timestamp)
            headers["webhook-signature"] = sign(hook.signing_token, msg_id, timestamp, body)
        with self._lock:
            return Delivery(
                id=next(self._ids),
                hook_id=hook.id,
                url=hook.url,
                event=event,
                payload=payload,
                body=body,
                headers=headers,
                idempotency_key=key,
                event_uuid=event_uuid,
                sent_at=dt.datetime.now(dt.UTC),
            )

    def send(self, delivery: Delivery) -> Delivery:
        """POST with http.client, so header names keep GitLab's spelling on the wire."""
        parts = urlsplit(delivery.url)
        connection_class = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        with self._lock:
            self.deliveries.append(delivery)
        delivery.sent_at = dt.datetime.now(dt.UTC)
        started = time.monotonic()
        connection = connection_class(parts.hostname, parts.port, timeout=TIMEOUT_SECONDS)
        try:
            connection.putrequest("POST", path)
            for key, value in delivery.headers.items():
                connection.putheader(key, value)
            connection.putheader("Content-Length", str(len(delivery.body)))
            connection.endheaders(delivery.body)
            response = connection.getresponse()
            delivery.status = response.status
            delivery.response_body = response.read(8192)
        except (OSError, http.client.HTTPException) as exc:
            delivery.error = str(exc) or type(exc).__name__
        finally:
            connection.close()
        delivery.duration = time.monotonic() - started
        delivery.done.set()
        return delivery

    def send_later(self, delivery: Delivery) -> None:
        self._queue.put(delivery)

    def _run(self) -> None:
        while True:
            delivery = self._queue.get()
            if delivery is None:
                return
            try:
                if not self._closed:
                    self.send(delivery)
            finally:
                self._queue.task_done()

    def wait(self, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)

    def resend(self, hook, delivery: Delivery) -> Delivery:
        """GitLab's "Resend request" (WebHooks::Events::ResendService): the logged body and
        trigger again, with the logged Idempotency-Key (``log.idempotency_key``). The headers
        are built anew in the request that pressed the button, so X-Gitlab-Webhook-UUID and
        X-Gitlab-Event-UUID (RecursionDetection::UUID, per request and hook) are new."""
        again = self.build(
            hook, delivery.event, delivery.payload, str(uuid.uuid4()), delivery.idempotency_key
        )
        again.body = delivery.body
        if hook.signing_token:
            timestamp = int(again.headers["webhook-timestamp"])
            again.headers["webhook-signature"] = sign(
                hook.signing_token, again.headers["webhook-id"], timestamp, again.body
            )
        again.redelivery_of = delivery.id
        return self.send(again)

    def close(self) -> None:
        """Drop what is still queued; let a delivery in flight finish."""
        self._closed = True
        self._queue.put(None)
        self._worker.join(TIMEOUT_SECONDS + 1)
