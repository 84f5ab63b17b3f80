"""Credentials of a job (SPEC §6.2; THREATS T7, T8, T12, T26).

Three credentials exist per job:

* the **job credential** (``job_credential``): an opaque ``mjt_`` token for the container, of
  which only the SHA-256 is stored; live while the job is STARTING or RUNNING with no cancel
  requested, and before its expiry;
* the **per-job GitLab key** (``minting``): a project access token with the narrowest scopes
  covering the job's effective authorities, used only server-side by the tool service, replaced
  at 50 minutes and revoked at 60 minutes or when the job ends;
* the **clone token** (``minting``): ``read_repository`` only, revoked when the container reports
  the clone done and at the latest 10 minutes after it was minted (``revocation``).

Both GitLab tokens are minted with ``expires_at`` the day after tomorrow, UTC
(``gitlab_expiry_date``): GitLab kills a token at 00:00 UTC of that date, so "tomorrow" would
kill a key minted at 23:55 five minutes later. Their short lives are Mate's own revocations.

Plaintext GitLab tokens live only encrypted in ``JobToken.value``; nothing here logs, raises or
stores them elsewhere, and errors raised to callers (``CredentialError``) never carry a token or a
GitLab response body.
"""

from jobs.credentials.common import CredentialError, bot_client, gitlab_expiry_date
from jobs.credentials.job_credential import authenticate, issue_job_credential
from jobs.credentials.minting import (
    gitlab_client_for,
    mint_clone_token,
    mint_gitlab_key,
    refresh_gitlab_key,
    scopes_for,
)
from jobs.credentials.revocation import clone_done, revoke_due_tokens, revoke_job_tokens
from jobs.credentials.token_users import minted_among, minted_users_in

__all__ = [
    "CredentialError",
    "authenticate",
    "bot_client",
    "clone_done",
    "gitlab_client_for",
    "gitlab_expiry_date",
    "issue_job_credential",
    "mint_clone_token",
    "mint_gitlab_key",
    "minted_among",
    "minted_users_in",
    "refresh_gitlab_key",
    "revoke_due_tokens",
    "revoke_job_tokens",
    "scopes_for",
]
