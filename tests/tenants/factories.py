"""Test data for tenants: users, tenants with a membership, bots with a token set."""

from __future__ import annotations

import itertools
import secrets

import factory
from django.contrib.auth import get_user_model

from tenants.models import Bot, Membership, Role, Tenant

_ids = itertools.count(1000)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", "pw-for-tests-only")


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Tenant {n}")
    gitlab_url = "https://gitlab.example.com"

    @factory.post_generation
    def webhook_secret(self, create, extracted, **kwargs):
        self.set_secret("webhook_secret", extracted or secrets.token_urlsafe(32))
        if create:
            self.save()


def member(tenant: Tenant, role: str = Role.OWNER, user=None):
    user = user or UserFactory()
    Membership.objects.create(user=user, tenant=tenant, role=role)
    return user


def make_bot(tenant: Tenant, username: str = "mate-bot", token: str | None = None) -> Bot:
    bot = Bot(tenant=tenant, gitlab_user_id=next(_ids), username=username, scopes=["api"])
    bot.set_secret("token", token or "glpat-" + secrets.token_urlsafe(15))
    bot.save()
    if tenant.default_bot_id is None:
        tenant.default_bot = bot
        tenant.save(update_fields=["default_bot"])
    return bot
