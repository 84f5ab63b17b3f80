"""The committed editor bundle (static/editor/config-editor.js) on its own, in real Chromium.

A harness page written into tmp_path and the bundle are served by a small http.server on
127.0.0.1, together with a stand-in for the Django validate endpoint: it reports an error at a
line containing `bad`, a warning past the end of the document for a line containing `warnme`,
and an error whose message is HTML for a line containing `xss`. The real Config page is tested
elsewhere against the same contract (see the top of frontend/src/config-editor.js).
"""

from __future__ import annotations

import html
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import pytest

pytestmark = pytest.mark.browser

STATIC = Path(__file__).resolve().parents[2] / "static"
XSS = "<img src=x onerror=window.pwned=1>"
INITIAL = "name: demo\nagents:\n  reviewer:\n    model: small\n"


def problems_for(text: str) -> list[dict]:
    problems = []
    for number, line in enumerate(text.split("\n"), start=1):
        if "bad" in line:
            problems.append(
                {
                    "severity": "error",
                    "path": "agents.bad",
                    "line": number,
                    "column": line.index("bad") + 1,
                    "message": "unknown key 'bad'",
                }
            )
        if "xss" in line:
            problems.append(
                {"severity": "error", "path": "x", "line": number, "column": 1, "message": XSS}
            )
        if "warnme" in line:
            problems.append(
                {
                    "severity": "warning",
                    "path": "tail",
                    "line": 9999,
                    "column": 50,
                    "message": "past the end",
                }
            )
    return problems


class Site:
    """State shared between the test and the handler threads."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.lock = threading.Lock()
        self.validations: list[dict] = []  # {"text", "headers", "answered"}
        self.saves: list[dict] = []
        self.delays: list[float] = []  # delay of the 1st, 2nd, ... validation answer
        self.fail = False

    def write_harness(self, text: str = INITIAL) -> None:
        (self.folder / "index.html").write_text(
            f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>harness</title>
<link rel="stylesheet" href="/static/editor/config-editor.css">
<script src="/static/editor/config-editor.js" defer></script>
</head><body>
<h1>Config</h1>
<form id="config-form" method="post" action="/save">
  <input type="hidden" name="csrfmiddlewaretoken" value="tok-123">
  <textarea name="text" id="config-text" required>{html.escape(text)}</textarea>
  <div id="config-editor" data-validate-url="/validate"></div>
  <button type="submit">Save</button>
</form>
<p id="problem-count"></p>
<ul id="problem-list"></ul>
<script>
  window.keyLog = [];
  window.addEventListener("keydown", (e) => {{
    if (e.key === "s" && e.ctrlKey) window.keyLog.push(e.defaultPrevented);
  }});
  document.getElementById("config-form").addEventListener("submit", (e) => {{
    window.submits = (window.submits || 0) + 1;
    if (window.holdSubmit) e.preventDefault();
  }});
</script>
</body></html>
""",
            encoding="utf-8",
        )


def make_handler(site: Site):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # keep pytest output quiet
            pass

        def send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if self.path == "/":
                file, kind = site.folder / "index.html", "text/html; charset=utf-8"
            elif self.path in (
                "/static/editor/config-editor.js",
                "/static/editor/config-editor.css",
            ):
                file = STATIC / self.path.removeprefix("/static/")
                kind = "text/javascript" if file.suffix == ".js" else "text/css"
                kind += "; charset=utf-8"
            else:
                self.send(404, b"not found", "text/plain")
                return
            self.send(200, file.read_bytes(), kind)

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            if self.path == "/save":
                with site.lock:
                    site.saves.append(
                        {"form": parse_qs(raw.decode(), keep_blank_values=True), "raw": raw}
                    )
                self.send(200, b"<!doctype html><title>saved</title><p id=saved>saved", "text/html")
                return
            if self.path != "/validate":
                self.send(404, b"not found", "text/plain")
                return
            text = json.loads(raw)["text"]
            record = {"text": text, "headers": dict(self.headers), "answered": False}
            with site.lock:
                index = len(site.validations)
                site.validations.append(record)
                delay = site.delays[index] if index < len(site.delays) else 0
                fail = site.fail
            time.sleep(delay)
            if fail:
                self.send(500, b"<h1>Server Error</h1>", "text/html")
            else:
                body = {"ok": not problems_for(text), "problems": problems_for(text)}
                self.send(200, json.dumps(body).encode(), "application/json")
            record["answered"] = True

    return Handler


@pytest.fixture
def site(tmp_path):
    state = Site(tmp_path)
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(state))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def wait_until(predicate, timeout: float = 10.0, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {message}")


def open_editor(page, site: Site, text: str = INITIAL):
    site.write_harness(text)
    page.goto(site.url)
    page.locator("#config-editor .cm-editor").wait_for(state="visible")
    return page


def type_at_end(page, text: str) -> None:
    page.locator("#config-editor .cm-content").click()
    page.keyboard.press("Control+End")
    page.keyboard.type(text)


def count_text(page) -> str:
    return page.locator("#problem-count").inner_text()


def test_mounts_hides_textarea_and_validates_on_load(browser_page, site):
    page = open_editor(browser_page, site)
    assert page.locator("#config-text").is_hidden()
    assert page.locator("#config-editor .cm-lineNumbers").is_visible()
    assert page.evaluate("window.mateConfigEditor.getText()") == INITIAL
    page.wait_for_function("document.getElementById('problem-count').textContent === 'No problems'")
    assert page.locator("#problem-count").get_attribute("data-state") == "ok"
    assert site.validations[0]["text"] == INITIAL
    headers = {k.lower(): v for k, v in site.validations[0]["headers"].items()}
    assert headers["x-csrftoken"] == "tok-123"
    assert headers["content-type"] == "application/json"
    # YAML highlighting is on: keys get a highlight class, not plain text.
    assert page.locator("#config-editor .cm-line span").count() > 0
    # Full height: the editor reaches (close to) the bottom of the 800 px viewport.
    box = page.locator("#config-editor").bounding_box()
    assert box["y"] + box["height"] > 760


def test_typing_bad_key_underlines_that_line_and_counts(browser_page, site):
    page = open_editor(browser_page, site)
    page.wait_for_function("document.getElementById('problem-count').textContent === 'No problems'")
    type_at_end(page, "bad: 1")
    underline = page.locator(".cm-lintRange-error")
    underline.first.wait_for(state="visible")
    assert count_text(page) == "1 error"
    assert underline.first.evaluate("el => el.closest('.cm-line').textContent") == "bad: 1"
    assert underline.first.inner_text() == "bad: 1"
    item = page.locator("#problem-list li.problem.error")
    assert item.count() == 1
    assert item.get_attribute("data-line") == "5"
    assert item.inner_text() == "5:1 agents.bad: unknown key 'bad'"
    # The textarea follows the editor.
    assert page.locator("#config-text").input_value() == INITIAL + "bad: 1"

    # A warning reported past the end of the document is clamped onto the last line.
    type_at_end(page, "\nwarnme: 2")
    page.wait_for_function(
        "document.getElementById('problem-count').textContent === '1 error, 1 warning'"
    )
    assert page.locator(".cm-lintRange-warning").count() == 1
    warning = page.locator("#problem-list li.problem.warning")
    assert warning.inner_text() == "9999:50 tail: past the end"

    # Clicking a problem moves the cursor to its line.
    page.keyboard.press("Control+Home")
    item.click()
    line = page.evaluate(
        "(() => { const s = window.mateConfigEditor.view.state;"
        " return s.doc.lineAt(s.selection.main.head).number; })()"
    )
    assert line == 5

    # Fixing it clears the underline.
    page.evaluate("window.mateConfigEditor.setText('name: demo\\n')")
    page.wait_for_function("document.getElementById('problem-count').textContent === 'No problems'")
    assert page.locator(".cm-lintRange-error").count() == 0
    assert page.locator("#problem-list li").count() == 0


def test_problem_message_is_rendered_as_text(browser_page, site):
    page = open_editor(browser_page, site, text="name: demo\nxss: 1\n")
    item = page.locator("#problem-list li.problem")
    item.first.wait_for(state="attached")
    assert XSS in item.first.evaluate("el => el.textContent")
    assert page.locator("#problem-list img").count() == 0
    # Hovering the underline shows CodeMirror's tooltip: it must not parse HTML either.
    page.locator(".cm-lintRange-error").first.hover()
    page.wait_for_timeout(300)
    assert page.locator(".cm-editor img").count() == 0
    assert page.evaluate("typeof window.pwned") == "undefined"


def test_ctrl_s_submits_edited_text_and_unsaved_guard(browser_page, site):
    page = open_editor(browser_page, site)
    unload_prevented = (
        "(() => { const e = new Event('beforeunload', {cancelable: true});"
        " window.dispatchEvent(e); return e.defaultPrevented; })()"
    )
    assert page.evaluate(unload_prevented) is False
    type_at_end(page, "extra: yes")
    assert page.evaluate(unload_prevented) is True

    # A submission cancelled by the page keeps the guard; Ctrl+S never reaches the browser.
    page.evaluate("window.holdSubmit = true")
    page.keyboard.press("Control+s")
    page.wait_for_function("window.submits === 1")
    assert page.evaluate("window.keyLog") == [True]
    page.wait_for_timeout(50)
    assert page.evaluate(unload_prevented) is True
    assert site.saves == []

    page.evaluate("window.holdSubmit = false")
    with page.expect_navigation():
        page.keyboard.press("Control+s")
    page.locator("#saved").wait_for()
    assert len(site.saves) == 1
    form = site.saves[0]["form"]
    # HTML form submission sends a textarea's line breaks as CRLF, with or without the editor.
    assert [t.replace("\r\n", "\n") for t in form["text"]] == [INITIAL + "extra: yes"]
    assert form["csrfmiddlewaretoken"] == ["tok-123"]


def test_stale_slow_answer_does_not_overwrite_newer_one(browser_page, site):
    site.delays = [2.0]  # the answer to the first request (sent on load) comes late
    page = open_editor(browser_page, site, text="bad: 1\n")
    wait_until(lambda: len(site.validations) == 1, message="first validation request")
    page.evaluate("window.mateConfigEditor.setText('name: fine\\n')")
    page.wait_for_function("document.getElementById('problem-count').textContent === 'No problems'")
    assert site.validations[0]["answered"] is False, "the slow answer came too early to test"
    wait_until(lambda: site.validations[0]["answered"], message="slow answer")
    page.wait_for_timeout(500)
    assert count_text(page) == "No problems"
    assert page.locator(".cm-lintRange-error").count() == 0
    assert page.locator("#problem-list li").count() == 0


def test_failing_endpoint_shows_validation_unavailable(browser_page, site):
    site.fail = True
    page = open_editor(browser_page, site)
    page.wait_for_function(
        "document.getElementById('problem-count').textContent === 'Validation unavailable'"
    )
    assert page.locator("#problem-count").get_attribute("data-state") == "unavailable"
    type_at_end(page, "still: editable")
    assert page.evaluate("window.mateConfigEditor.getText()").endswith("still: editable")
    # Once the endpoint recovers, the next change is validated again.
    site.fail = False
    type_at_end(page, "\nbad: 2")
    page.wait_for_function("document.getElementById('problem-count').textContent === '1 error'")
