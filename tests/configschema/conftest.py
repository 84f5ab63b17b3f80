"""Fixtures shared by the configuration-language tests."""

from __future__ import annotations

import pytest

from configschema import libyaml, loader


@pytest.fixture(params=["libyaml", "ruamel"])
def parser(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test once per YAML parser the loader can use: libyaml's C parser (the fast path,
    when PyYAML has it) and ruamel's pure-Python one (the fallback, and the reference)."""
    if request.param == "libyaml" and not libyaml.AVAILABLE:
        pytest.skip("PyYAML is not installed with libyaml here")
    monkeypatch.setattr(loader, "USE_LIBYAML", request.param == "libyaml")
    return str(request.param)
