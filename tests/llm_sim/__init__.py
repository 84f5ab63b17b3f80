"""A stand-in for the Anthropic Messages API, scripted turn by turn, for claude-code in tests.

``LLMSim(script="note").start()`` serves ``HEAD/GET /``, ``POST /v1/messages`` (streamed or
not) and ``POST /v1/messages/count_tokens`` on ``.url``; every request is kept in
``.requests`` with the API key reduced to a sha256 prefix. Scripts: see ``scripts``.
Run alone: ``python -m tests.llm_sim --host 127.0.0.1 --port 8099 --script hello``.
"""

from .scripts import SCRIPTS, Reply, plan_reply
from .server import LLMSim, RecordedRequest, key_fingerprint

__all__ = ["SCRIPTS", "LLMSim", "RecordedRequest", "Reply", "key_fingerprint", "plan_reply"]
