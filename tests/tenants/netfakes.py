"""Name resolution and sockets under the test's control (THREATS T16, T36).

``FakeDNS`` answers ``socket.getaddrinfo`` for names from a table (each call may get the next
answer, so a test can rebind a name between two lookups); IP literals are parsed locally and no
query ever leaves. ``ConnectGuard`` records every ``connect`` and refuses, before a packet is
sent, any address but 127.0.0.1: tests talk only to servers they start on loopback.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass, field

PUBLIC = "93.184.215.14"  # a global address no test ever reaches (ConnectGuard refuses it)
_REAL_GETADDRINFO = socket.getaddrinfo
_REAL_CONNECT = socket.socket.connect


def _literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]").split("%")[0])
    except ValueError:
        return False
    return True


@dataclass
class FakeDNS:
    answers: dict[str, list[list[str]]] = field(default_factory=dict)
    lookups: list[str] = field(default_factory=list)
    default: list[str] | None = None  # the answer for names not in the table (None: NXDOMAIN)

    def set(self, name: str, *rounds: list[str]) -> None:
        """Answer ``name`` with ``rounds[0]`` first, then ``rounds[1]``, …; the last repeats."""
        self.answers[name.lower()] = [list(r) for r in rounds]

    def _answer(self, name: str) -> list[str]:
        rounds = self.answers.get(name.lower())
        if rounds is None:
            if self.default is None:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            return self.default
        return rounds.pop(0) if len(rounds) > 1 else rounds[0]

    def getaddrinfo(self, host, port, family=0, type=0, proto=0, flags=0):
        host = host.decode() if isinstance(host, bytes) else host
        if host is None or _literal(host):
            return _REAL_GETADDRINFO(host, port, family, type, proto, flags | socket.AI_NUMERICHOST)
        self.lookups.append(host)
        infos = []
        for address in self._answer(host):
            ip = ipaddress.ip_address(address)
            fam = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
            sockaddr = (
                (address, int(port or 0), 0, 0) if ip.version == 6 else (address, int(port or 0))
            )
            infos.append((fam, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", sockaddr))
        return infos


@dataclass
class ConnectGuard:
    attempts: list[str] = field(default_factory=list)

    def connect(self, sock: socket.socket, address) -> None:
        host = address[0] if isinstance(address, tuple) else str(address)
        self.attempts.append(host)
        if sock.family in (socket.AF_INET, socket.AF_INET6) and host != "127.0.0.1":
            raise ConnectionRefusedError(f"test guard: refused to connect to {host}")
        return _REAL_CONNECT(sock, address)

    def non_loopback(self) -> list[str]:
        return [a for a in self.attempts if a != "127.0.0.1"]


def install(monkeypatch, *, default: list[str] | None = None) -> FakeDNS:
    dns = FakeDNS(default=default)
    monkeypatch.setattr(socket, "getaddrinfo", dns.getaddrinfo)
    return dns


def guard_connect(monkeypatch) -> ConnectGuard:
    guard = ConnectGuard()
    monkeypatch.setattr(
        socket.socket, "connect", lambda sock, address: guard.connect(sock, address)
    )
    return guard
