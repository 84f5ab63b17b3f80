import pytest

from tenants import services
from tenants.models import Membership, Role
from tests.tenants.factories import TenantFactory, UserFactory, member

pytestmark = pytest.mark.django_db


def test_create_tenant_makes_the_creator_owner_and_returns_the_secret_once():
    user = UserFactory()
    tenant, secret = services.create_tenant(
        user=user, name="Acme", gitlab_url="https://gitlab.acme.test/", plan="plus"
    )
    assert tenant.gitlab_url == "https://gitlab.acme.test"
    assert Membership.objects.get(tenant=tenant, user=user).role == Role.OWNER
    assert len(secret) >= 40 and tenant.reveal_secret("webhook_secret") == secret
    assert secret not in tenant.webhook_secret_ciphertext
    assert tenant.mates == 1 and tenant.mate_filename == ".mate.yml"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": "", "gitlab_url": "https://g.test"}, "name"),
        ({"name": "x" * 81, "gitlab_url": "https://g.test"}, "name"),
        ({"name": "ok", "gitlab_url": "https://u:p@g.test"}, "gitlab_url"),
        ({"name": "ok", "gitlab_url": "https://g.test", "plan": "gold"}, "plan"),
    ],
)
def test_create_tenant_refuses_bad_input_naming_the_field(kwargs, field):
    with pytest.raises(services.SettingsError) as info:
        services.create_tenant(user=UserFactory(), **kwargs)
    assert info.value.field == field


def test_llm_key_length_and_provider():
    tenant = TenantFactory()
    with pytest.raises(services.SettingsError, match="20 to 500"):
        services.set_llm_credential(tenant=tenant, provider="openrouter", key="short")
    with pytest.raises(services.SettingsError, match="OpenRouter or Anthropic"):
        services.set_llm_credential(tenant=tenant, provider="openai", key="k" * 30)
    services.set_llm_credential(tenant=tenant, provider="anthropic", key="sk-ant-" + "k" * 30)
    tenant.refresh_from_db()
    assert tenant.llm_provider == "anthropic"
    assert tenant.reveal_secret("llm_key") == "sk-ant-" + "k" * 30
    assert tenant.llm_key_set_at is not None


def test_rotating_the_webhook_secret_replaces_it():
    tenant = TenantFactory(webhook_secret="first-secret-value-000")
    new = services.rotate_webhook_secret(tenant=tenant)
    tenant.refresh_from_db()
    assert new != "first-secret-value-000"
    assert tenant.reveal_secret("webhook_secret") == new


def test_signing_secret_rotate_and_clear():
    tenant = TenantFactory()
    value = services.rotate_signing_secret(tenant=tenant)
    assert value.startswith("whsec_")
    tenant.refresh_from_db()
    assert tenant.reveal_secret("webhook_signing_secret") == value
    services.clear_signing_secret(tenant=tenant)
    tenant.refresh_from_db()
    assert not tenant.has_secret("webhook_signing_secret")


@pytest.mark.parametrize("bad", ["", "dir/.mate.yml", "..", "a b.yml", "x" * 121])
def test_mate_filename_must_be_a_root_file_name(bad):
    with pytest.raises(services.SettingsError, match="file name at the repository root"):
        services.update_settings(tenant=TenantFactory(), mate_filename=bad)


def test_update_settings_changes_only_given_fields():
    tenant = TenantFactory(name="Before")
    services.update_settings(tenant=tenant, mate_filename=".agents.yml")
    tenant.refresh_from_db()
    assert (tenant.name, tenant.mate_filename) == ("Before", ".agents.yml")


def test_suspend_and_resume():
    tenant = TenantFactory()
    services.set_suspended(tenant=tenant, suspended=True)
    tenant.refresh_from_db()
    assert tenant.suspended
    services.set_suspended(tenant=tenant, suspended=False)
    tenant.refresh_from_db()
    assert not tenant.suspended


def test_members_add_change_and_the_last_owner_rule():
    tenant = TenantFactory()
    owner = member(tenant, Role.OWNER)
    other = UserFactory(username="bob")
    added = services.add_member(tenant=tenant, username="bob", role=Role.VIEWER)
    assert added.user == other
    with pytest.raises(services.MembershipError, match="already a member"):
        services.add_member(tenant=tenant, username="bob", role=Role.OWNER)
    with pytest.raises(services.MembershipError, match="No Mate account is called 'nobody'"):
        services.add_member(tenant=tenant, username="nobody", role=Role.VIEWER)
    owner_membership = Membership.objects.get(tenant=tenant, user=owner)
    with pytest.raises(services.MembershipError, match="at least one owner"):
        services.change_role(membership=owner_membership, role=Role.VIEWER)
    with pytest.raises(services.MembershipError, match="last owner cannot be removed"):
        services.remove_member(membership=owner_membership)
    services.change_role(membership=added, role=Role.OWNER)
    services.remove_member(membership=owner_membership)
    assert list(Membership.objects.for_tenant(tenant).values_list("user__username", flat=True)) == [
        "bob"
    ]


def test_suspending_cancels_the_tenants_unfinished_jobs_only():
    from jobs.models import Job, JobStatus, Outcome

    tenant, other = TenantFactory(), TenantFactory()

    def job(owner, status, key):
        return Job.objects.create(
            tenant=owner,
            event_key=key,
            event="issue_assigned",
            bot_username="b",
            agent="a",
            trigger="tenant[0]",
            project_id=1,
            object_kind="issue",
            object_iid=1,
            loop_key="issue/1",
            status=status,
            worker="elsewhere:1",
        )

    pending = job(tenant, JobStatus.PENDING, "p")
    running = job(tenant, JobStatus.RUNNING, "r")
    done = job(tenant, JobStatus.DONE, "d")
    theirs = job(other, JobStatus.RUNNING, "o")

    assert services.set_suspended(tenant=tenant, suspended=True) == 2
    for row in (pending, running, done, theirs):
        row.refresh_from_db()
    assert (pending.status, pending.outcome) == (JobStatus.CANCELED, Outcome.CANCELED)
    assert running.cancel_requested_at is not None  # its worker stops the container
    assert running.cancel_reason == "the tenant was suspended"
    assert done.status == JobStatus.DONE and done.cancel_requested_at is None
    assert theirs.cancel_requested_at is None
