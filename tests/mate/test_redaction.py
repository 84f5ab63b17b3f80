import logging

import pytest

from mate.redaction import MARK, RedactingFilter, contains_secret, redact

SECRETS = [
    "glpat-AbCdEfGhIjKlMnOpQrSt",
    "sk-ant-api03-abcdefghijklmnop",
    "sk-or-v1-0123456789abcdef0123",
    "mjt_abcdefghijklmnopqrstuv",
]


@pytest.mark.parametrize("secret", SECRETS)
def test_token_shapes_are_masked_keeping_the_prefix(secret):
    out = redact(f"calling with {secret} now")
    assert secret not in out
    assert MARK in out
    assert contains_secret(secret)


def test_bearer_header_and_url_credentials():
    out = redact(
        "Authorization: Bearer abc.def-ghi_jkl and https://oauth2:tok3nvalue@git.example/x.git"
    )
    assert "abc.def-ghi_jkl" not in out
    assert "tok3nvalue" not in out
    assert "git.example/x.git" in out


def test_exact_extra_values():
    assert redact("the key is hunter2hunter2", ["hunter2hunter2"]) == f"the key is {MARK}"
    assert not contains_secret("nothing secret here")


def test_logging_filter_redacts_args_and_tracebacks(caplog):
    logger = logging.getLogger("tests.redaction")
    logger.addFilter(RedactingFilter())
    try:
        with caplog.at_level(logging.INFO, logger="tests.redaction"):
            logger.info("token %s used", SECRETS[0])
            try:
                raise RuntimeError(f"failed with {SECRETS[1]}")
            except RuntimeError:
                logger.exception("boom")
    finally:
        logger.filters.clear()
    text = caplog.text + "".join(r.exc_text or "" for r in caplog.records)
    assert SECRETS[0] not in text and SECRETS[1] not in text
    assert "RuntimeError" in text


def test_json_log_lines_are_structured_and_redacted():
    import json

    from mate.logformat import JsonFormatter

    logger = logging.getLogger("tests.jsonlog")
    stream = __import__("io").StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("job %s used %s", "j1", SECRETS[0], extra={"job": "j1"})
        try:
            raise ValueError(SECRETS[2])
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["level"] == "WARNING" and first["logger"] == "tests.jsonlog"
    assert first["job"] == "j1"
    assert SECRETS[0] not in first["message"] and MARK in first["message"]
    assert "ValueError" in second["traceback"] and SECRETS[2] not in second["traceback"]
