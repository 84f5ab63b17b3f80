"""Talking to a tenant's GitLab safely (SPEC §1, §2; THREATS T16, T35, T36).

``check_gitlab_url`` validates the form of a base URL and ``resolve`` checks every address its
host resolves to (the rule is ``tenants.netguard.refusal``). A client is built only by
``registration_client`` (a new token, checked on the tenant's current URL: that check binds it)
or ``bot_client`` (a bot's PAT or a token minted from it, sent only to the URL the bot was
registered on, and refused once the tenant's URL differs). Either way the client's session
reaches one origin only, over connections pinned to the addresses resolved and checked once,
with no redirects and no proxies.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import gitlab

from tenants.netguard import IPAddress, PinnedAdapter, RefusingAdapter, refusal

if TYPE_CHECKING:
    from tenants.models import Bot, Tenant

TIMEOUT_SECONDS = 15


class GitLabURLError(ValueError):
    """The GitLab base URL is malformed or points somewhere Mate refuses to send tokens."""


def check_gitlab_url(url: str) -> str:
    """Return the normalized base URL (no trailing slash) or raise GitLabURLError."""
    url = (url or "").strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise GitLabURLError("GitLab URL is not a valid URL; use e.g. https://gitlab.example.com")
    if parts.scheme not in ("http", "https"):
        raise GitLabURLError("GitLab URL must start with https:// (or http://)")
    if not parts.hostname:
        raise GitLabURLError("GitLab URL has no host name; use e.g. https://gitlab.example.com")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise GitLabURLError(
            "GitLab URL must not contain credentials; remove the user:password@ part"
        )
    if parts.query or parts.fragment or "?" in url:
        raise GitLabURLError(
            "GitLab URL must not have a query or fragment; remove the ?… or #… part"
        )
    if port == 0:
        raise GitLabURLError("GitLab URL has an invalid port")
    return url.rstrip("/")


def resolve(url: str) -> tuple[IPAddress, ...]:
    """Resolve the URL's host once; return its addresses, or refuse if any is forbidden."""
    parts = urlsplit(check_gitlab_url(url))
    default_port = 443 if parts.scheme == "https" else 80
    try:
        infos = socket.getaddrinfo(
            parts.hostname, parts.port or default_port, proto=socket.IPPROTO_TCP
        )
    except (socket.gaierror, UnicodeError):
        raise GitLabURLError(
            f"GitLab host {parts.hostname} does not resolve; check the GitLab URL in Settings"
        ) from None
    addresses: list[IPAddress] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        reason = refusal(address)
        if reason:
            raise GitLabURLError(
                f"GitLab host {parts.hostname} resolves to {address}, {reason}; Mate will not "
                "send a token there"
            )
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise GitLabURLError(f"GitLab host {parts.hostname} has no address")
    return tuple(addresses)


def ensure_allowed_host(url: str) -> None:
    """Refuse the URL unless its host resolves and every address passes (used when saving)."""
    resolve(url)


def _client(base_url: str, token: str) -> gitlab.Gitlab:
    """A python-gitlab client that can reach ``base_url``'s origin only, over pinned sockets."""
    base_url = check_gitlab_url(base_url)
    addresses = resolve(base_url)
    parts = urlsplit(base_url)
    origin = f"{parts.scheme}://{parts.netloc}"
    gl = gitlab.Gitlab(
        base_url,
        private_token=token,
        timeout=TIMEOUT_SECONDS,
        retry_transient_errors=False,
        keep_base_url=True,
    )
    session = gl.session
    session.max_redirects = 0
    session.trust_env = False  # no proxies from the environment see the token
    session.proxies = {}
    session.adapters.clear()
    session.mount("http://", RefusingAdapter(origin))
    session.mount("https://", RefusingAdapter(origin))
    session.mount(f"{origin}/", PinnedAdapter(str(parts.hostname), addresses))
    return gl


def registration_client(tenant: Tenant, token: str) -> gitlab.Gitlab:
    """A client on the tenant's current GitLab URL for a token being registered (SPEC §2).

    The URL used here is what the bot then records (``Bot.gitlab_url``)."""
    return _client(tenant.gitlab_url, token)


def bound_url(bot: Bot) -> str:
    """The GitLab base URL ``bot``'s tokens may go to, read fresh; refused once the tenant moved."""
    from tenants.models import Bot

    row = Bot.objects.filter(pk=bot.pk).values_list("gitlab_url", "tenant__gitlab_url").first()
    if row is None:
        raise GitLabURLError(f"bot @{bot.username} is no longer registered; register it again")
    registered, current = row
    if not registered or check_gitlab_url(registered) != check_gitlab_url(current):
        raise GitLabURLError(
            f"bot @{bot.username} was registered on {registered or 'another GitLab'}, but the "
            f"tenant's GitLab URL is now {current}; register the bot again under Bots"
        )
    return check_gitlab_url(registered)


def bot_client(bot: Bot, token: str | None = None) -> gitlab.Gitlab:
    """A client with ``bot``'s PAT, or ``token`` (one minted from that PAT), on the GitLab the
    bot was registered on. Nothing built here ever sends either to another URL."""
    url = bound_url(bot)
    return _client(url, bot.reveal_secret("token") if token is None else token)
