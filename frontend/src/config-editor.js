/*
 * Mate configuration editor: CodeMirror 6 on the tenant's Config page.
 *
 * Built by frontend/build.sh into static/editor/config-editor.js (committed, so running Mate
 * never needs Node). Styles live in static/editor/config-editor.css (not bundled).
 *
 * PAGE CONTRACT (the Django template is written against exactly this):
 *
 *   <link rel="stylesheet" href="/static/editor/config-editor.css">
 *   <script src="/static/editor/config-editor.js" defer></script>
 *
 *   <form id="config-form" method="post">
 *     <input type="hidden" name="csrfmiddlewaretoken" value="...">   ({% csrf_token %})
 *     <textarea name="text" id="config-text">...YAML...</textarea>
 *     <div id="config-editor" data-validate-url="/.../validate"></div>
 *     ...
 *   </form>
 *   <span id="problem-count"></span>          (anywhere on the page)
 *   <ul id="problem-list"></ul>               (anywhere on the page)
 *
 * - Without JavaScript the textarea is a plain working form field. When the script runs it
 *   mounts the editor into #config-editor (YAML highlighting, line numbers, lint gutter), hides
 *   the textarea (hidden attribute + display:none; its `required` attribute is dropped so a
 *   hidden control can never block submission) and copies the editor text into it on every
 *   change and again on submit. The editor's initial text is textarea.value.
 * - #config-editor fills the viewport from its top edge down: the script sets the CSS variable
 *   --config-editor-top (px) on it (on load and resize); config-editor.css computes the height.
 *   A page may set --config-editor-gap (default 1rem) to keep room below the editor.
 * - Live validation, if data-validate-url is present: on load, and 300 ms after the last change,
 *   POST {"text": "<document>"} as JSON (headers Content-Type: application/json and X-CSRFToken:
 *   the form's csrfmiddlewaretoken value; same-origin credentials). Expected 2xx answer:
 *     {"ok": bool, "problems": [{"severity": "error"|"warning", "path": str,
 *                                "line": int, "column": int, "message": str}]}
 *   line/column are 1-based and clamped to the document. Each problem becomes a CodeMirror lint
 *   diagnostic (error -> cm-lintRange-error, warning -> cm-lintRange-warning; any other
 *   severity is shown as a warning) underlining from the column to the end of that line
 *   (trailing blanks excluded). Positions are mapped through edits made while the request was
 *   in flight. Only the answer to the most recent request is applied; older answers are dropped.
 *   #problem-count gets text like "2 errors, 1 warning", "1 error", "3 warnings" or
 *   "No problems", and attribute data-state = "checking" (request in flight) | "ok" |
 *   "problems" | "unavailable". #problem-list gets one
 *     <li class="problem error|warning" data-line="N" tabindex="0">
 *   per problem, in server order, whose text (textContent, never HTML) is
 *   "LINE:COL PATH: MESSAGE" ("LINE:COL MESSAGE" when path is empty). Clicking it, or Enter /
 *   Space on it, puts the cursor at that position and focuses the editor.
 *   A network error, a non-2xx status, a body that is not that JSON or no answer within 15 s
 *   shows "Validation unavailable" (data-state="unavailable") and clears the underlines and the
 *   list; editing is never blocked.
 * - Ctrl+S / Cmd+S anywhere on the page: the browser's save dialog is suppressed, the textarea
 *   is synced and the form is submitted with form.requestSubmit() (so submit handlers and
 *   validation run as for a click on a submit button).
 * - Unsaved changes: while the text differs from the textarea's server-rendered content
 *   (defaultValue) a beforeunload listener asks before leaving (preventDefault + returnValue).
 *   Submitting the form removes it.
 * - window.mateConfigEditor = { view, getText(), setText(text), validate() } where validate()
 *   runs a validation now and returns a promise settled once its answer is handled.
 */
import { ChangeSet, EditorState } from "@codemirror/state";
import {
  EditorView,
  drawSelection,
  highlightActiveLine,
  highlightActiveLineGutter,
  highlightSpecialChars,
  keymap,
  lineNumbers,
} from "@codemirror/view";
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import {
  bracketMatching,
  defaultHighlightStyle,
  indentOnInput,
  indentUnit,
  syntaxHighlighting,
} from "@codemirror/language";
import { lintGutter, setDiagnostics } from "@codemirror/lint";
import { yaml } from "@codemirror/lang-yaml";

const DEBOUNCE_MS = 300;
const TIMEOUT_MS = 15000;

function plural(n, word) {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

function severityOf(problem) {
  return problem && problem.severity === "error" ? "error" : "warning";
}

function toInt(value, fallback) {
  const n = Number(value);
  return Number.isFinite(n) ? Math.trunc(n) : fallback;
}

/** The [from, to] range a problem underlines in `doc` (clamped, never inverted). */
function problemRange(doc, problem) {
  const lineNo = Math.min(Math.max(toInt(problem.line, 1), 1), doc.lines);
  const line = doc.line(lineNo);
  const end = line.from + line.text.replace(/\s+$/, "").length;
  const column = Math.max(toInt(problem.column, 1), 1);
  let from = Math.min(line.from + column - 1, line.to);
  if (from >= end) from = Math.max(line.from, end - 1);
  return { from, to: Math.max(from, end) };
}

function isValidAnswer(body) {
  return (
    body !== null &&
    typeof body === "object" &&
    Array.isArray(body.problems) &&
    body.problems.every((p) => p !== null && typeof p === "object")
  );
}

function mount() {
  const form = document.getElementById("config-form");
  const textarea = document.getElementById("config-text");
  const host = document.getElementById("config-editor");
  if (!form || !textarea || !host || window.mateConfigEditor) return;

  const countEl = document.getElementById("problem-count");
  const listEl = document.getElementById("problem-list");
  const validateUrl = host.getAttribute("data-validate-url") || "";
  const csrfInput = form.querySelector('input[name="csrfmiddlewaretoken"]');

  const baselineDoc = EditorState.create({ doc: textarea.defaultValue }).doc;
  let dirty = false;
  let submitting = false;

  // Validation bookkeeping: `seq` numbers requests; only the answer to `seq` is applied.
  // `sentChanges` accumulates the edits made since the latest request was sent.
  let seq = 0;
  let sentChanges = null;
  let timer = null;

  function setCount(text, state) {
    if (!countEl) return;
    if (text !== null) countEl.textContent = text;
    countEl.setAttribute("data-state", state);
  }

  function onBeforeUnload(event) {
    event.preventDefault();
    event.returnValue = "";
    return "";
  }

  function setDirty(value) {
    if (value === dirty) return;
    dirty = value;
    if (dirty && !submitting) window.addEventListener("beforeunload", onBeforeUnload);
    else window.removeEventListener("beforeunload", onBeforeUnload);
  }

  function syncTextarea() {
    textarea.value = view.state.doc.toString();
  }

  const view = new EditorView({
    parent: host,
    state: EditorState.create({
      doc: textarea.value,
      extensions: [
        lineNumbers(),
        highlightActiveLineGutter(),
        highlightSpecialChars(),
        history(),
        drawSelection(),
        indentOnInput(),
        bracketMatching(),
        highlightActiveLine(),
        syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
        EditorState.tabSize.of(2),
        indentUnit.of("  "),
        yaml(),
        lintGutter(),
        keymap.of([...defaultKeymap, ...historyKeymap, indentWithTab]),
        EditorView.contentAttributes.of({ "aria-label": "Configuration (YAML)" }),
        EditorView.updateListener.of((update) => {
          if (!update.docChanged) return;
          if (sentChanges) sentChanges = sentChanges.compose(update.changes);
          syncTextarea();
          setDirty(!update.state.doc.eq(baselineDoc));
          schedule();
        }),
      ],
    }),
  });

  textarea.hidden = true;
  textarea.style.display = "none";
  textarea.required = false;
  setDirty(!view.state.doc.eq(baselineDoc));

  function moveTo(problem) {
    const { from } = problemRange(view.state.doc, problem);
    view.dispatch({ selection: { anchor: from }, scrollIntoView: true });
    view.focus();
  }

  function renderList(problems) {
    if (!listEl) return;
    const items = problems.map((problem) => {
      const li = document.createElement("li");
      const severity = severityOf(problem);
      li.className = `problem ${severity}`;
      li.setAttribute("data-line", String(toInt(problem.line, 1)));
      li.tabIndex = 0;
      const path = problem.path == null ? "" : String(problem.path);
      const where = `${toInt(problem.line, 1)}:${toInt(problem.column, 1)}`;
      const message = problem.message == null ? "" : String(problem.message);
      li.textContent = path ? `${where} ${path}: ${message}` : `${where} ${message}`;
      li.addEventListener("click", () => moveTo(problem));
      li.addEventListener("keydown", (event) => {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          moveTo(problem);
        }
      });
      return li;
    });
    listEl.replaceChildren(...items);
  }

  function applyProblems(problems, sentDoc, changes) {
    const diagnostics = problems.map((problem) => {
      const range = problemRange(sentDoc, problem);
      let from = range.from;
      let to = range.to;
      if (changes && !changes.empty) {
        from = changes.mapPos(from, 1);
        to = Math.max(from, changes.mapPos(to, -1));
      }
      return {
        from,
        to,
        severity: severityOf(problem),
        message: problem.message == null ? "" : String(problem.message),
        source: problem.path ? String(problem.path) : undefined,
      };
    });
    view.dispatch(setDiagnostics(view.state, diagnostics));
    renderList(problems);
    const errors = problems.filter((p) => severityOf(p) === "error").length;
    const warnings = problems.length - errors;
    const parts = [];
    if (errors) parts.push(plural(errors, "error"));
    if (warnings) parts.push(plural(warnings, "warning"));
    setCount(parts.length ? parts.join(", ") : "No problems", parts.length ? "problems" : "ok");
  }

  function showUnavailable() {
    view.dispatch(setDiagnostics(view.state, []));
    if (listEl) listEl.replaceChildren();
    setCount("Validation unavailable", "unavailable");
  }

  async function validate() {
    if (timer !== null) {
      clearTimeout(timer);
      timer = null;
    }
    if (!validateUrl) return;
    const mine = ++seq;
    const sentDoc = view.state.doc;
    sentChanges = ChangeSet.empty(sentDoc.length);
    setCount(null, "checking");
    const controller = typeof AbortController === "function" ? new AbortController() : null;
    const timeout = setTimeout(() => controller && controller.abort(), TIMEOUT_MS);
    let body = null;
    try {
      const response = await fetch(validateUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "Content-Type": "application/json",
          Accept: "application/json",
          "X-CSRFToken": csrfInput ? csrfInput.value : "",
        },
        body: JSON.stringify({ text: sentDoc.toString() }),
        signal: controller ? controller.signal : undefined,
      });
      if (response.ok) body = await response.json();
    } catch (_error) {
      body = null;
    } finally {
      clearTimeout(timeout);
    }
    if (mine !== seq) return; // a newer request was sent: this answer is stale
    const changes = sentChanges;
    sentChanges = null;
    if (isValidAnswer(body)) applyProblems(body.problems, sentDoc, changes);
    else showUnavailable();
  }

  function schedule() {
    if (!validateUrl) return;
    if (timer !== null) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      validate();
    }, DEBOUNCE_MS);
  }

  function save() {
    syncTextarea();
    if (typeof form.requestSubmit === "function") {
      form.requestSubmit();
    } else {
      form.dispatchEvent(new Event("submit", { cancelable: true })) && form.submit();
    }
  }

  form.addEventListener("submit", (event) => {
    syncTextarea();
    submitting = true;
    window.removeEventListener("beforeunload", onBeforeUnload);
    // If a later handler cancels the submission, the page stays: guard the changes again.
    setTimeout(() => {
      if (!event.defaultPrevented) return;
      submitting = false;
      if (dirty) window.addEventListener("beforeunload", onBeforeUnload);
    }, 0);
  });

  document.addEventListener(
    "keydown",
    (event) => {
      if (!(event.ctrlKey || event.metaKey) || event.altKey || event.shiftKey) return;
      if (event.key !== "s" && event.key !== "S") return;
      event.preventDefault();
      save();
    },
    true,
  );

  function fitHeight() {
    const top = host.getBoundingClientRect().top + window.scrollY;
    host.style.setProperty("--config-editor-top", `${Math.max(0, Math.round(top))}px`);
  }
  fitHeight();
  window.addEventListener("resize", fitHeight);

  window.mateConfigEditor = {
    view,
    getText: () => view.state.doc.toString(),
    setText: (text) =>
      view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: String(text) } }),
    validate,
  };

  validate();
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", mount);
} else {
  mount();
}
