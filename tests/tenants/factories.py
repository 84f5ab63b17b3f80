"""Factories for tenant-side models: users, tenants, members of a given role, bots, configs.

Shared by every test module under tests/tenants (services, admin, console views).
"""

from __future__ import annotations

import functools
from datetime import timedelta

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.utils import timezone

from tenants.models import Bot, ConfigVersion, Membership, Plan, Role, Tenant

PASSWORD = "correct horse battery staple"


@functools.cache
def _password_hash() -> str:
    return make_password(PASSWORD)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    # Hashing once keeps each user cheap (PBKDF2 is slow by design); sign-in still works.
    password = factory.LazyFunction(lambda: _password_hash())


class TenantFactory(factory.django.DjangoModelFactory):
    """A tenant with a webhook secret; ``webhook_secret`` sets its plaintext."""

    class Meta:
        model = Tenant
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Tenant {n}")
    gitlab_url = "https://gitlab.example.com"
    plan = Plan.STARTER

    @factory.post_generation
    def webhook_secret(obj, create, extracted, **kwargs):
        obj.set_secret("webhook_secret", extracted or f"hook-secret-{obj.uid.hex}")
        if create:
            obj.save()


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    tenant = factory.SubFactory(TenantFactory)
    role = Role.OWNER


class BotFactory(factory.django.DjangoModelFactory):
    """A registered bot with an encrypted token (``token`` sets its plaintext)."""

    class Meta:
        model = Bot
        skip_postgeneration_save = True

    tenant = factory.SubFactory(TenantFactory)
    gitlab_user_id = factory.Sequence(lambda n: 1000 + n)
    username = factory.Sequence(lambda n: f"mate-bot-{n}")
    scopes = factory.LazyFunction(lambda: ["api"])
    token_expires_on = factory.LazyFunction(lambda: timezone.now().date() + timedelta(days=90))

    @factory.post_generation
    def token(obj, create, extracted, **kwargs):
        obj.set_secret("token", extracted or f"glpat-{obj.uid.hex[:20]}")
        if create:
            obj.save()


class ConfigVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ConfigVersion

    tenant = factory.SubFactory(TenantFactory)
    version = factory.Sequence(lambda n: n + 1)
    text = "version: 1\n"
    author = factory.SubFactory(UserFactory)


def member(tenant: Tenant, role: str = Role.OWNER, user=None, **user_fields):
    """Make ``user`` (a new one when None) a member of ``tenant`` with ``role``; returns the user."""
    user = user or UserFactory(**user_fields)
    MembershipFactory(user=user, tenant=tenant, role=role)
    return user


def make_bot(
    tenant: Tenant, username: str | None = None, token: str | None = None, **fields
) -> Bot:
    """A bot of ``tenant`` with an encrypted token (a made-up one when ``token`` is None)."""
    if username is not None:
        fields["username"] = username
    return BotFactory(tenant=tenant, token=token, **fields)


def make_default(bot: Bot) -> Bot:
    bot.tenant.default_bot = bot
    bot.tenant.save(update_fields=["default_bot"])
    return bot
