"""The stand-in over plain HTTP, driven the way claude-code drives the Anthropic API."""

import json
import subprocess
import sys
import time
import urllib.request

from tests.llm_sim import LLMSim, key_fingerprint

from .client import KEY, messages, request, tool_turn, user

CONTEXT = {"object": {"kind": "issue", "iid": 12}}


def body(*turns, stream=True, model="claude-sonnet-4-5"):
    return {"model": model, "max_tokens": 1024, "stream": stream, "messages": list(turns)}


def test_head_and_get_root(llm_sim):
    assert request(llm_sim.url + "/", "HEAD").status == 200
    assert json.loads(request(llm_sim.url + "/").read())["ok"] is True
    assert request(llm_sim.url + "/v1/other").status == 404


def test_streamed_tool_use_step(llm_sim):
    answer = messages(llm_sim.url, body(user("go"), *tool_turn("t1", "x", {}, CONTEXT)))
    assert answer.status == 200
    assert answer.headers["content-type"].startswith("text/event-stream")
    names = answer.names()
    assert names[:2] == ["message_start", "content_block_start"]
    assert names[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert set(names[2:-3]) == {"content_block_delta"} and len(names[2:-3]) >= 2  # pieces
    data = dict(answer.events)
    start = data["message_start"]["message"]
    assert start["id"].startswith("msg_") and start["model"] == "claude-sonnet-4-5"
    assert start["usage"]["input_tokens"] > 0
    block = data["content_block_start"]["content_block"]
    assert block["type"] == "tool_use" and block["name"] == "mcp__mate__get_issue"
    assert block["id"].startswith("toolu_") and block["input"] == {}
    assert json.loads(answer.tool_input_text(0)) == {"iid": 12}
    assert all(d["type"] == name for name, d in answer.events)
    delta = data["message_delta"]
    assert delta["delta"]["stop_reason"] == "tool_use" and delta["usage"]["output_tokens"] > 0


def test_next_step_after_a_tool_result_then_end_turn(llm_sim):
    turns = [user("go"), *tool_turn("t1", "a", {}, CONTEXT)]
    turns += tool_turn("t2", "b", {"iid": 12}, {"iid": 12, "title": "Flaky test"})
    answer = messages(llm_sim.url, body(*turns))
    block = dict(answer.events)["content_block_start"]["content_block"]
    assert block["name"] == "mcp__mate__create_issue_note"
    expected = {"iid": 12, "body": "Mate looked at: Flaky test"}
    assert json.loads(answer.tool_input_text(0)) == expected
    again = messages(llm_sim.url, body(*turns))  # stateless: a retry gets the same step
    assert json.loads(again.tool_input_text(0)) == expected

    turns += tool_turn("t3", "c", expected, {"id": 1})
    final = messages(llm_sim.url, body(*turns))
    text = "".join(d["delta"]["text"] for n, d in final.events if n == "content_block_delta")
    assert text == "Done."
    assert dict(final.events)["content_block_start"]["content_block"] == {
        "type": "text",
        "text": "",
    }
    assert dict(final.events)["message_delta"]["delta"]["stop_reason"] == "end_turn"
    assert [r.reply["step"] for r in llm_sim.message_requests()] == [2, 2, 3]


def test_non_streaming(llm_sim):
    answer = messages(llm_sim.url, body(user("go"), stream=False, model="some-unknown-model"))
    assert answer.status == 200 and answer.json["type"] == "message"
    assert answer.json["model"] == "some-unknown-model"
    assert answer.json["stop_reason"] == "tool_use"
    use = answer.json["content"][0]
    assert use["name"] == "mcp__mate__get_job_context" and use["input"] == {}
    assert answer.json["usage"]["output_tokens"] > 0


def test_model_prefix_picks_a_script(llm_sim):
    answer = messages(llm_sim.url, body(user("hi"), stream=False, model="llm-sim:hello"))
    assert answer.json["content"] == [{"type": "text", "text": "Hello from the stand-in."}]


def test_count_tokens(llm_sim):
    response = request(
        llm_sim.url + "/v1/messages/count_tokens?beta=true",
        "POST",
        body(user("hi")),
        {"x-api-key": KEY},
    )
    assert response.status == 200 and json.loads(response.read())["input_tokens"] > 0


def test_401_without_a_key_and_with_a_wrong_one(llm_sim_factory):
    sim = llm_sim_factory()
    answer = messages(sim.url, body(user("go")), key=None)
    assert answer.status == 401
    assert answer.json["error"]["type"] == "authentication_error"
    strict = llm_sim_factory(api_key="right-key")
    assert messages(strict.url, body(user("go")), key="wrong").status == 401
    assert messages(strict.url, body(user("go"), stream=False), key="right-key").status == 200


def test_record_keeps_no_key(llm_sim):
    messages(llm_sim.url, body(user("go")), key="sk-secret-value-1")
    messages(llm_sim.url, body(user("go")), key="sk-secret-value-2", auth="authorization")
    first, second = llm_sim.requests
    assert (first.key_header, second.key_header) == ("x-api-key", "authorization")
    assert first.key_sha256 == key_fingerprint("sk-secret-value-1")
    assert first.path == "/v1/messages" and first.query == "beta=true"
    assert first.body["messages"][0]["content"][0]["text"] == "go"
    assert first.headers["anthropic-version"] == "2023-06-01"
    assert "x-api-key" not in first.headers and "authorization" not in second.headers
    assert "sk-secret-value" not in repr(llm_sim.requests)


def test_command_line_runs_the_server(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.llm_sim", "--port", "0", "--script", "hello"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        url = line.split(" on ", 1)[1].split()[0]
        answer = messages(url, body(user("hi"), stream=False))
        assert answer.json["content"][0]["text"] == "Hello from the stand-in."
        assert urllib.request.urlopen(url + "/").status == 200
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0


def test_bind_host_is_used():
    with LLMSim(host="127.0.0.2", script="hello") as sim:
        assert sim.url.startswith("http://127.0.0.2:")
        assert messages(sim.url, body(user("hi"), stream=False)).status == 200


def test_client_leaving_mid_stream_is_not_a_server_error(llm_sim):
    llm_sim.script, llm_sim.event_delay = "hello", 0.2
    response = request(llm_sim.url + "/v1/messages", "POST", body(user("hi")), {"x-api-key": KEY})
    response.readline()
    response.close()  # like a canceled job's agent
    deadline = time.monotonic() + 5
    while not llm_sim.requests[-1].reply.get("disconnected") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert llm_sim.server_errors == []
    assert llm_sim.requests[-1].reply.get("disconnected") is True
