"""Where a GitLab token may travel: the address rules and a pinned transport (SPEC §1; T16, T36).

``refusal`` is the one address rule. An address is allowed when Python's ``is_global`` says so
and it is in none of the extra non-global ranges below (Python 3.11 calls ``fec0::/10`` global);
loopback, private and other non-global ranges only with MATE_ALLOW_PRIVATE_GITLAB=1; link-local,
multicast, unspecified and cloud-metadata addresses never.

``PinnedAdapter`` is the only way a token-bearing request leaves: it connects to the addresses
that were resolved and checked once (never resolving the name again), checks each address again
on the socket it opens, and keeps the name for the Host header, TLS SNI and the certificate check.
``RefusingAdapter`` answers every other origin, so a redirect or a foreign pagination link can
never carry a token elsewhere.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import requests
from django.conf import settings
from requests.adapters import BaseAdapter, HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError
from urllib3.util.connection import _set_socket_options
from urllib3.util.timeout import _DEFAULT_TIMEOUT

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Non-global ranges Python's is_global misses on some versions (3.11: fec0::/10 is "global").
NOT_GLOBAL = tuple(
    ipaddress.ip_network(n)
    for n in (
        "100.64.0.0/10",  # shared address space (carrier-grade NAT, Tailscale)
        "fec0::/10",  # deprecated IPv6 site-local
        "64:ff9b:1::/48",  # local-use NAT64
    )
)
# Cloud metadata and host-agent endpoints: never, whatever MATE_ALLOW_PRIVATE_GITLAB says.
METADATA = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, Oracle
        "100.100.100.200",  # Alibaba Cloud
        "fd00:ec2::254",  # AWS over IPv6
        "168.63.129.16",  # Azure wire server
    )
)
NEVER = "a link-local, multicast, unspecified or cloud-metadata address (Mate never sends a token there)"
PRIVATE = (
    "a loopback, private or otherwise non-global address; on-prem installations on private "
    "networks set MATE_ALLOW_PRIVATE_GITLAB=1"
)


class RefusedDestination(requests.exceptions.ConnectionError):
    """A request would have carried a token to an address or origin Mate refuses."""


def embedded(address: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 address stands for (mapped, 6to4, NAT64), else the address."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.sixtofour is not None:
            return address.sixtofour
        if address in ipaddress.ip_network("64:ff9b::/96"):
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def _candidates(address: IPAddress) -> tuple[IPAddress, ...]:
    inner = embedded(address)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return (inner,)  # ::ffff:a.b.c.d is a.b.c.d on the wire
    return (address,) if inner == address else (address, inner)


def refusal(address: IPAddress) -> str | None:
    """Why a token may not go to ``address`` (None: it may)."""
    candidates = _candidates(address)
    for c in candidates:
        if c in METADATA or c.is_link_local or c.is_multicast or c.is_unspecified:
            return NEVER
    for c in candidates:
        if not c.is_global or any(c in net for net in NOT_GLOBAL):
            return None if settings.MATE_ALLOW_PRIVATE_GITLAB else PRIVATE
    return None


def _open(address: IPAddress, port: int, timeout: Any, options: Any) -> socket.socket:
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        _set_socket_options(sock, options)
        if timeout is not _DEFAULT_TIMEOUT:
            sock.settimeout(timeout)
        sock.connect((str(address), port))
    except BaseException:
        sock.close()
        raise
    return sock


class _Pinned:
    """Mixed into urllib3's connections: connect only to ``addresses``, each checked again."""

    host_name: str = ""
    addresses: tuple[IPAddress, ...] = ()

    def _new_conn(self) -> socket.socket:
        conn: Any = self
        if conn.host.rstrip(".").lower() != self.host_name:
            raise NewConnectionError(
                conn, f"refused: this connection is pinned to {self.host_name}"
            )
        error: OSError | None = None
        for address in self.addresses:
            reason = refusal(address)
            if reason:
                raise NewConnectionError(conn, f"refused {address}: {reason}")
            try:
                return _open(address, conn.port, conn.timeout, conn.socket_options)
            except OSError as exc:
                error = exc
        raise NewConnectionError(conn, f"Failed to establish a new connection: {error}")


class PinnedAdapter(HTTPAdapter):
    """Requests to one origin, over sockets to already checked addresses only."""

    def __init__(self, host: str, addresses: tuple[IPAddress, ...]) -> None:
        attrs = {"host_name": host.rstrip(".").lower(), "addresses": addresses}
        http = type("PinnedHTTPConnection", (_Pinned, HTTPConnection), attrs)
        https = type("PinnedHTTPSConnection", (_Pinned, HTTPSConnection), attrs)
        self._pools = {
            "http": type("PinnedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": http}),
            "https": type("PinnedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": https}),
        }
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = self._pools

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        raise RefusedDestination("Mate never sends a GitLab token through a proxy")


class RefusingAdapter(BaseAdapter):
    """Every origin but the bound one: nothing is sent."""

    def __init__(self, origin: str) -> None:
        super().__init__()
        self.origin = origin

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        raise RefusedDestination(
            f"Mate sends this GitLab token only to {self.origin}; refused a request elsewhere"
        )

    def close(self) -> None:
        return None
