"""Tests of the LLM stand-in (tests/llm_sim)."""
