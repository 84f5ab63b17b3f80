"""T25: a database dump has no plaintext; swapped ciphertexts fail; rotation keeps data readable."""

import os
import subprocess
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from tenants import crypto
from tenants.models import Bot, Tenant
from tests.tenants.factories import TenantFactory, make_bot

pytestmark = pytest.mark.django_db

CANARY_PAT = "glpat-CANARYcanary0123456789"
CANARY_LLM = "sk-or-v1-CANARYllmkey0123456789"


def _all_rows_text() -> str:
    """Every row of every Mate table, as text: what a database dump would contain."""
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - names from introspection
            chunks.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(chunks)


def test_database_holds_no_plaintext_secret():
    tenant = TenantFactory(webhook_secret="whsecret-CANARY-0123456789")
    tenant.set_secret("llm_key", CANARY_LLM)
    tenant.save()
    make_bot(tenant, token=CANARY_PAT)
    dump = _all_rows_text()
    for canary in (CANARY_PAT, CANARY_LLM, "whsecret-CANARY-0123456789"):
        assert canary not in dump
    assert "mate1$" in dump


@pytest.mark.django_db(transaction=True)
def test_pg_dump_holds_no_plaintext_secret():
    if connection.vendor != "postgresql":
        pytest.skip("pg_dump check runs on PostgreSQL (CI)")
    tenant = TenantFactory()
    make_bot(tenant, token=CANARY_PAT)
    # transaction=True: the rows are committed, so pg_dump (another session) sees them.
    params = connection.get_connection_params()
    env = dict(os.environ, PGPASSWORD=str(params.get("password") or ""))
    dump = subprocess.run(
        [
            "pg_dump",
            "-h",
            params.get("host") or "127.0.0.1",
            "-U",
            params["user"],
            "-d",
            params["dbname"],
            "--data-only",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert dump.returncode == 0, dump.stderr
    assert "mate1$" in dump.stdout, "the dump must contain the bot row's ciphertext"
    assert CANARY_PAT not in dump.stdout


def test_ciphertext_swapped_between_rows_does_not_decrypt():
    tenant = TenantFactory()
    first = make_bot(tenant, "bot-a", token="glpat-aaaaaaaaaaaaaaaaaaaa")
    second = make_bot(tenant, "bot-b", token="glpat-bbbbbbbbbbbbbbbbbbbb")
    Bot.objects.filter(pk=second.pk).update(token_ciphertext=first.token_ciphertext)
    second.refresh_from_db()
    with pytest.raises(crypto.DecryptionError):
        second.reveal_secret("token")
    # Moved across columns of one row: webhook secret pasted into the LLM key column.
    Tenant.objects.filter(pk=tenant.pk).update(llm_key_ciphertext=tenant.webhook_secret_ciphertext)
    tenant.refresh_from_db()
    with pytest.raises(crypto.DecryptionError):
        tenant.reveal_secret("llm_key")


def test_rotate_keys_re_encrypts_and_keeps_everything_readable(settings):
    old = [("old", os.urandom(32))]
    settings.MATE_ENCRYPTION_KEYS = old
    tenant = TenantFactory(webhook_secret="hook-secret-value-123")
    bot = make_bot(tenant, token=CANARY_PAT)
    set_at = Bot.objects.get(pk=bot.pk).token_set_at

    settings.MATE_ENCRYPTION_KEYS = [("new", os.urandom(32)), *old]
    out = StringIO()
    call_command("mate", "rotate-keys", "--batch-size", "1", stdout=out)
    assert "tenants.Bot: re-encrypted 1 secret(s)" in out.getvalue()
    assert "tenants.Tenant: re-encrypted 1 secret(s)" in out.getvalue()

    settings.MATE_ENCRYPTION_KEYS = settings.MATE_ENCRYPTION_KEYS[:1]  # old key dropped
    bot.refresh_from_db()
    tenant.refresh_from_db()
    assert bot.reveal_secret("token") == CANARY_PAT
    assert tenant.reveal_secret("webhook_secret") == "hook-secret-value-123"
    assert bot.token_set_at == set_at
    again = StringIO()
    call_command("mate", "rotate-keys", stdout=again)
    assert "done: 0 secret(s)" in again.getvalue()
