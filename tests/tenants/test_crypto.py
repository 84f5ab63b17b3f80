import base64
import os

import pytest

from tenants import crypto

BIND = {"table": "tenants_bot", "column": "token", "row": "r1"}


def _ring(*ids):
    return [(i, os.urandom(32)) for i in ids]


def test_round_trip_and_format(settings):
    settings.MATE_ENCRYPTION_KEYS = _ring("k1")
    token = crypto.encrypt("glpat-secret-value", **BIND)
    prefix, key_id, blob = token.split("$")
    assert (prefix, key_id) == ("mate1", "k1")
    assert "glpat" not in token
    assert len(base64.b64decode(blob)) == 12 + len("glpat-secret-value") + 16
    assert crypto.decrypt(token, **BIND) == "glpat-secret-value"


def test_nonce_is_random(settings):
    settings.MATE_ENCRYPTION_KEYS = _ring("k1")
    assert crypto.encrypt("same", **BIND) != crypto.encrypt("same", **BIND)


@pytest.mark.parametrize(
    "other",
    [
        {**BIND, "row": "r2"},
        {**BIND, "column": "llm_key"},
        {**BIND, "table": "tenants_tenant"},
    ],
)
def test_ciphertext_bound_to_table_column_row(settings, other):
    settings.MATE_ENCRYPTION_KEYS = _ring("k1")
    token = crypto.encrypt("value", **BIND)
    with pytest.raises(crypto.DecryptionError, match="does not belong to this row"):
        crypto.decrypt(token, **other)


def test_old_keys_decrypt_newest_encrypts(settings):
    old = _ring("old")
    settings.MATE_ENCRYPTION_KEYS = old
    token = crypto.encrypt("value", **BIND)
    settings.MATE_ENCRYPTION_KEYS = _ring("new") + old
    assert crypto.decrypt(token, **BIND) == "value"
    assert crypto.key_id_of(crypto.encrypt("value", **BIND)) == "new"


def test_missing_key_names_the_key_id_and_the_fix(settings):
    settings.MATE_ENCRYPTION_KEYS = _ring("gone")
    token = crypto.encrypt("value", **BIND)
    settings.MATE_ENCRYPTION_KEYS = _ring("new")
    with pytest.raises(crypto.DecryptionError, match="key id 'gone'.*add the old key back"):
        crypto.decrypt(token, **BIND)


@pytest.mark.parametrize("garbage", ["", "plain", "mate1$k1$%%%", "mate1$k1$" + "A" * 8])
def test_damaged_ciphertext_is_refused(settings, garbage):
    settings.MATE_ENCRYPTION_KEYS = _ring("k1")
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(garbage, **BIND)
