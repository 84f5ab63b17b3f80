"""Fixtures for the tenant console tests: one tenant with a member of each role, and another."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.test import Client

from tenants.models import Bot, ConfigVersion, Role, Tenant
from tests.tenants import netfakes
from tests.tenants.factories import (
    ConfigVersionFactory,
    TenantFactory,
    make_bot,
    make_default,
    member,
)


@pytest.fixture(autouse=True)
def fake_dns(monkeypatch) -> netfakes.FakeDNS:
    """No DNS query leaves a tenants test: made-up names resolve to one public address (never
    connected to), "localhost" to loopback, and a test may rebind any name (T36)."""
    dns = netfakes.install(monkeypatch, default=[netfakes.PUBLIC])
    dns.set("localhost", ["127.0.0.1", "::1"])
    return dns


@dataclass
class World:
    tenant: Tenant
    owner: object
    operator: object
    viewer: object
    bot: Bot
    config: ConfigVersion
    other: Tenant
    other_owner: object
    other_bot: Bot


@pytest.fixture
def world(db) -> World:
    tenant = TenantFactory(name="Acme")
    owner = member(tenant, Role.OWNER, username="olivia")
    operator = member(tenant, Role.OPERATOR, username="oscar")
    viewer = member(tenant, Role.VIEWER, username="vera")
    bot = make_default(make_bot(tenant, "mate-bot"))
    config = ConfigVersionFactory(tenant=tenant, version=1, author=owner)
    other = TenantFactory(name="Other Corp")
    other_owner = member(other, Role.OWNER, username="mallory")
    other_bot = make_bot(other, "other-bot")
    return World(tenant, owner, operator, viewer, bot, config, other, other_owner, other_bot)


@pytest.fixture
def as_user(client):
    """``as_user(user)`` -> a client signed in as that user."""

    def sign_in(user) -> Client:
        client.force_login(user)
        return client

    return sign_in
