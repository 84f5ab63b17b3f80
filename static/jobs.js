/* Mate console: live jobs list and job timeline (SPEC §8). No build step, no dependencies.
 *
 * Safety: everything that comes from the server is assigned with textContent (never innerHTML),
 * so agent output stays text. Rows and timeline entries are cloned from <template> elements
 * that the server rendered.
 *
 * Jobs list (#job-table): every data-refresh-ms (5 s) the ids of the unfinished rows go to
 * data-rows-url; only those rows come back (finished rows are never refetched). On the first
 * page (data-top) jobs newer than the top row come too and are prepended. A failed refresh
 * shows #refresh-banner and the next tick retries.
 *
 * Job detail (#timeline): polls data-events-url?after=<cursor> (the last event id seen) and
 * prepends new events, newest first; Pause stops polling, Resume catches up from the cursor.
 */
(() => {
  "use strict";

  function getJSON(url) {
    return fetch(url, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
      cache: "no-store",
    }).then((response) => {
      const type = response.headers.get("Content-Type") || "";
      if (!response.ok || !type.startsWith("application/json")) {
        throw new Error(`refresh failed (${response.status})`);
      }
      return response.json();
    });
  }

  function showBanner(failed) {
    const banner = document.getElementById("refresh-banner");
    if (banner) banner.hidden = !failed;
  }

  /* Fill the [data-field] elements under root from data: text, badge class, visibility. */
  function fill(root, data) {
    root.querySelectorAll("[data-field]").forEach((el) => {
      const name = el.dataset.field;
      if (!(name in data)) return;
      const value = data[name];
      if (typeof value === "boolean") {
        el.hidden = !value;
        return;
      }
      el.textContent = value === null || value === undefined ? "" : String(value);
      if (el.classList.contains("badge")) {
        const extra = data[`${name}_class`];
        el.className = "badge" + (extra ? ` ${String(extra).replace(/[^a-z-]/g, "")}` : "");
        el.hidden = el.textContent === "";
      }
    });
  }

  function clone(templateId) {
    const template = document.getElementById(templateId);
    return template.content.firstElementChild.cloneNode(true);
  }

  /* --- jobs list ----------------------------------------------------------------------- */

  function jobsList(table) {
    const body = table.querySelector("tbody");
    const every = Number(table.dataset.refreshMs) || 5000;
    const live = table.dataset.top !== undefined;
    let top = table.dataset.top || "";

    function unfinished() {
      return Array.from(body.querySelectorAll("tr[data-final='0']"), (tr) => tr.dataset.uid);
    }

    function update(tr, row) {
      fill(tr, row);
      const link = tr.querySelector("a[data-link]");
      if (link) link.href = row.url;
      tr.dataset.uid = row.uid;
      tr.dataset.final = row.final ? "1" : "0";
    }

    function prepend(rows) {
      for (const row of rows.slice().reverse()) {
        if (body.querySelector(`tr[data-uid="${CSS.escape(row.uid)}"]`)) continue;
        const tr = clone("job-row-template");
        update(tr, row);
        body.prepend(tr);
        top = row.uid;
      }
      const empty = document.getElementById("no-jobs");
      if (empty && body.rows.length) empty.hidden = true;
    }

    function apply(answer) {
      for (const [uid, row] of Object.entries(answer.rows || {})) {
        const tr = body.querySelector(`tr[data-uid="${CSS.escape(uid)}"]`);
        if (tr) update(tr, row);
      }
      for (const uid of answer.missing || []) {
        const tr = body.querySelector(`tr[data-uid="${CSS.escape(uid)}"]`);
        if (tr) tr.dataset.final = "gone";
      }
      if (live) prepend(answer.new || []);
    }

    function tick() {
      const ids = unfinished();
      if (!ids.length && !live) return; // nothing can change on this page any more
      const params = new URLSearchParams(table.dataset.filterQs || "");
      params.set("ids", ids.join(","));
      if (live) params.set("top", top);
      getJSON(`${table.dataset.rowsUrl}?${params}`)
        .then((answer) => {
          apply(answer);
          showBanner(false);
        })
        .catch(() => showBanner(true))
        .finally(() => window.setTimeout(tick, every));
    }

    window.setTimeout(tick, every);
  }

  /* --- job timeline -------------------------------------------------------------------- */

  function timeline(list) {
    const every = Number(list.dataset.refreshMs) || 5000;
    const toggle = document.getElementById("timeline-toggle");
    const liveLabel = document.getElementById("live-label");
    const state = document.getElementById("job-state");
    const facts = document.getElementById("job-facts");
    const seen = new Set(Array.from(list.children, (li) => li.dataset.id));
    let cursor = Number(list.dataset.cursor) || 0;
    let final = list.dataset.final === "1";
    let paused = false;
    let timer = null;
    let busy = false;

    function add(events) {
      for (const event of events) {
        const id = String(event.id);
        if (seen.has(id)) continue;
        seen.add(id);
        const li = clone("timeline-item-template");
        li.className = `event ${String(event.kind).replace(/[^a-z_]/g, "")}`;
        li.dataset.id = id;
        fill(li, event);
        li.querySelector("time").dateTime = event.at_iso;
        list.prepend(li);
      }
      const empty = document.getElementById("timeline-empty");
      if (empty && list.children.length) empty.hidden = true;
    }

    function showJob(job) {
      fill(state, job);
      if (facts) fill(facts, job);
      final = job.final;
      state.dataset.final = final ? "1" : "0";
      if (final) {
        const cancel = document.getElementById("cancel-form");
        if (cancel) cancel.hidden = true;
      }
    }

    function render() {
      if (liveLabel) {
        liveLabel.hidden = final;
        liveLabel.textContent = paused ? "PAUSED" : "LIVE";
        liveLabel.classList.toggle("paused", paused);
      }
      if (toggle) {
        toggle.textContent = paused ? "Resume" : "Pause";
        toggle.setAttribute("aria-pressed", paused ? "true" : "false");
        toggle.hidden = final;
      }
    }

    /* Fetch batches until caught up; a final job with nothing new ends the polling. */
    async function poll() {
      timer = null;
      if (paused || busy) return;
      busy = true;
      let quiet = true;
      try {
        let answer;
        do {
          answer = await getJSON(`${list.dataset.eventsUrl}?after=${cursor}`);
          if (paused) return; // paused meanwhile: Resume fetches again from the cursor
          add(answer.events);
          if (answer.events.length) quiet = false;
          cursor = Math.max(cursor, Number(answer.cursor) || 0);
          showJob(answer.job);
        } while (answer.more);
        showBanner(false);
      } catch (error) {
        quiet = false;
        showBanner(true);
      } finally {
        busy = false;
        render();
        if (!paused && !(final && quiet)) timer = window.setTimeout(poll, every);
      }
    }

    if (toggle) {
      toggle.addEventListener("click", () => {
        paused = !paused;
        if (timer) window.clearTimeout(timer);
        timer = null;
        render();
        if (!paused) poll();
      });
    }
    render();
    timer = window.setTimeout(poll, final ? 0 : every);
  }

  function start() {
    const table = document.getElementById("job-table");
    if (table) jobsList(table);
    const list = document.getElementById("timeline");
    if (list) timeline(list);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
