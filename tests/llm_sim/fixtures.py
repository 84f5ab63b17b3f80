"""pytest fixtures that start the LLM stand-in (register ``tests.llm_sim.fixtures`` as a plugin)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from .server import LLMSim


@pytest.fixture
def llm_sim_factory() -> Iterator[Callable[..., LLMSim]]:
    """``llm_sim_factory(host="172.17.0.1", script="forbidden")``: started, stopped after the
    test (which fails if the stand-in raised)."""
    started: list[LLMSim] = []

    def make(**kwargs) -> LLMSim:
        sim = LLMSim(**kwargs).start()
        started.append(sim)
        return sim

    yield make
    errors = []
    for sim in started:
        sim.stop()
        errors.extend(sim.server_errors)
    if errors:
        pytest.fail("LLM stand-in raised:\n" + "\n".join(errors), pytrace=False)


@pytest.fixture
def llm_sim(llm_sim_factory) -> LLMSim:
    """A stand-in on 127.0.0.1 with a free port and the ``note`` script (change ``.script``)."""
    return llm_sim_factory()
