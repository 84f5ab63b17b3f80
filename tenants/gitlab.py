"""Talking to a tenant's GitLab safely (SPEC §1, §2; THREATS T16).

``check_gitlab_url`` validates the form of a base URL; ``client`` builds a python-gitlab client
only after the host's addresses pass ``ensure_allowed_host`` (no loopback, private, link-local or
metadata addresses unless MATE_ALLOW_PRIVATE_GITLAB=1, and link-local never), and never follows
redirects, so a token is never sent to a refused host.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

import gitlab
from django.conf import settings

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


def _refusal(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if address.is_link_local or address.is_multicast or address.is_unspecified:
        return "a link-local, multicast or unspecified address (cloud metadata lives there)"
    if address.is_loopback or address.is_private or address.is_reserved:
        if settings.MATE_ALLOW_PRIVATE_GITLAB:
            return None
        return (
            "a loopback or private address; on-prem installations on private networks set "
            "MATE_ALLOW_PRIVATE_GITLAB=1"
        )
    return None


def ensure_allowed_host(url: str) -> None:
    """Resolve the URL's host and refuse it if any address is in a forbidden range."""
    parts = urlsplit(check_gitlab_url(url))
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except socket.gaierror:
        raise GitLabURLError(
            f"GitLab host {parts.hostname} does not resolve; check the GitLab URL in Settings"
        ) from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        reason = _refusal(address)
        if reason:
            raise GitLabURLError(
                f"GitLab host {parts.hostname} resolves to {address}, {reason}; Mate will not "
                "send a token there"
            )


def client(base_url: str, token: str) -> gitlab.Gitlab:
    """A python-gitlab client for ``base_url`` authenticated with ``token``.

    Redirects are refused (a redirect could carry the token elsewhere); rate-limit answers are
    retried a few times, honouring Retry-After.
    """
    ensure_allowed_host(base_url)
    gl = gitlab.Gitlab(
        check_gitlab_url(base_url),
        private_token=token,
        timeout=TIMEOUT_SECONDS,
        retry_transient_errors=False,
        keep_base_url=True,
    )
    gl.session.max_redirects = 0
    gl.session.trust_env = False  # no proxies from the environment see the token
    return gl
