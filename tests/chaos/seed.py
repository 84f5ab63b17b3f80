"""Seeds the chaos run's database (run as ``python -m tests.chaos.seed`` with the run's
environment): an owner, a tenant on the GitLab simulator with its bot, an LLM key and the config
given on stdin as JSON ``{"gitlab_url", "pat", "config", "mates"}``. Prints ``{"uid", "secret"}``.
"""

from __future__ import annotations

import json
import sys

import django


def main() -> None:
    args = json.load(sys.stdin)
    django.setup()
    from django.contrib.auth import get_user_model

    from tenants import services
    from tenants.models import Tenant

    owner = get_user_model().objects.create_user(username="chaos-owner", password=None)
    tenant, secret = services.create_tenant(user=owner, name="Chaos", gitlab_url=args["gitlab_url"])
    services.register_bot(tenant=tenant, token=args["pat"])
    services.set_llm_credential(tenant=tenant, provider="anthropic", key=args["llm_key"])
    services.save_config(tenant=tenant, text=args["config"], author=owner)
    Tenant.objects.filter(pk=tenant.pk).update(mates=args["mates"])
    print(json.dumps({"uid": str(tenant.uid), "secret": secret}))


if __name__ == "__main__":
    main()
