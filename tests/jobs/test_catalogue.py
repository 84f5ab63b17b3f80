"""SPEC §5.3 step 5: OpenRouter model ids are checked against the public catalogue (cached
10 minutes; skipped when it cannot be fetched). Served here by a local stand-in."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from jobs.routing.catalogue import model_refusal


@pytest.fixture
def catalogue(settings):
    hits = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            body = json.dumps({"data": [{"id": "anthropic/claude-sonnet-4-6"}]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.MATE_OPENROUTER_MODELS_URL = f"http://127.0.0.1:{server.server_port}/api/v1/models"
    yield hits
    server.shutdown()


def test_known_model_passes_unknown_is_refused_and_the_catalogue_is_cached(catalogue):
    assert model_refusal("openrouter", "anthropic/claude-sonnet-4-6") is None
    reason = model_refusal("openrouter", "anthropic/claude-imaginary-9")
    assert "not in OpenRouter's model catalogue" in reason
    assert len(catalogue) == 1  # fetched once for both checks


def test_anthropic_ids_are_not_checked(catalogue):
    assert model_refusal("anthropic", "claude-anything") is None
    assert catalogue == []


def test_unreachable_catalogue_skips_the_check(settings):
    settings.MATE_OPENROUTER_MODELS_URL = "http://127.0.0.1:9/models"
    assert model_refusal("openrouter", "whatever/model") is None
