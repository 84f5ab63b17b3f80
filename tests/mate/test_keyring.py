import base64
import os

import pytest

from mate.keyring import KeyRingError, dev_keyring, format_entry, parse_keyring


def _key(n: int = 32) -> str:
    return base64.b64encode(os.urandom(n)).decode()


def test_parse_keeps_order_first_encrypts():
    k1, k2 = _key(), _key()
    ring = parse_keyring(f"new:{k1}, old:{k2}")
    assert [key_id for key_id, _ in ring] == ["new", "old"]
    assert ring[0][1] == base64.b64decode(k1)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "is empty"),
        ("nocolon", "entry 1 is not 'ID:BASE64KEY'"),
        (f"a:{_key()} a:{_key()}", "key id 'a' twice"),
        ("a:!!!notbase64", "not valid base64"),
        (f"a:{_key(16)}", "decodes to 16 bytes"),
        (f"bad id:{_key()}", "entry 1"),
    ],
)
def test_bad_rings_name_the_entry_and_fix(text, fragment):
    with pytest.raises(KeyRingError, match=fragment.replace("(", r"\(")):
        parse_keyring(text)


def test_error_never_echoes_the_key():
    key = _key(16)
    with pytest.raises(KeyRingError) as info:
        parse_keyring(f"a:{key}")
    assert key not in str(info.value)


def test_dev_keyring_generated_once_private_and_warns(tmp_path, capsys):
    path = tmp_path / "keys"
    ring = dev_keyring(path)
    assert "WARNING" in capsys.readouterr().err
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert dev_keyring(path) == ring
    assert capsys.readouterr().err == ""
    assert path.read_text().strip() == format_entry(*ring[0])
