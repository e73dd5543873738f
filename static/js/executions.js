/* The executions list: the pace of its one live poll, and its keys.
   - One request refreshes the live region (#execution-live's URL answers the newer rows, the
     live rows sent as `live=` and the figures, all swapped out of band): every 2 s while a
     row is running or pending, then 4, 8, up to 10 s while nothing is (a waiting row is live
     but still until a call, a decision or a time: it is refreshed at the slow pace); none
     while the tab is hidden; at once when the tab shows again, the window gets focus, or a
     run starts from this page.
   - Keys (never while typing in a field): j / k move through the rows, Enter opens (the row's
     link has the focus), r re-runs the focused failed run after a confirm, / searches run keys.
   Everything here is an enhancement: without it the page is the list as it was rendered.
   No inline scripts (CSP script-src 'self'). */
(function () {
  "use strict";

  var FAST = 2000;
  var SLOW = 10000;
  var HUNG = 30000; // a poll still unanswered after this is given up on
  var delay = FAST;
  var timer = null;
  var busy = false;
  var again = false;

  function region() { return document.getElementById("execution-live"); }
  function list() { return document.getElementById("execution-list"); }

  /* Rows that change by themselves; those of the newer body come back whole with each poll. */
  function liveIds() {
    var rows = document.querySelectorAll("#execution-list tbody:not(#execution-newer) tr.execution-row[data-live]");
    return Array.prototype.slice.call(rows, 0, 100).map(function (row) {
      return row.id.replace("execution-", "");
    }).join(",");
  }

  /* A row that moves by itself: running or pending, not waiting. */
  function anyMoving() { return !!document.querySelector("#execution-list tr.execution-row[data-live]:not([data-waiting])"); }

  function schedule(ms) {
    clearTimeout(timer);
    timer = null;
    if (document.hidden || !region()) { return; }
    timer = setTimeout(poll, ms);
  }

  function poll() {
    var el = region();
    timer = null;
    if (!el || document.hidden) { return; }
    if (busy) { again = true; return; }
    busy = true;
    timer = setTimeout(settled, HUNG);
    var values = {};
    var ids = liveIds();
    var figures = document.querySelector("#execution-stats[data-digest]");
    if (ids) { values.live = ids; }
    if (figures) { values.figures = figures.getAttribute("data-digest"); }  /* unchanged: not sent again */
    htmx.ajax("GET", el.getAttribute("data-live-url"), { source: el, target: el, swap: "none", values: values })
      .then(settled, settled);
  }

  function settled() {
    if (!busy) { return; }
    busy = false;
    delay = anyMoving() ? FAST : Math.min(delay * 2, SLOW);
    var next = again ? 0 : delay;
    again = false;
    schedule(next);
  }

  /* Poll now and at the fast pace again (the tab shows, the window has focus, a run started). */
  function soon() {
    delay = FAST;
    if (busy) { again = true; } else { schedule(0); }
  }

  document.addEventListener("visibilitychange", function () {
    if (document.hidden) { clearTimeout(timer); timer = null; } else { soon(); }
  });
  window.addEventListener("focus", soon);
  /* A new list (filters applied, another page): its region, at the fast pace. */
  document.addEventListener("htmx:load", function (event) {
    if (event.target === list()) { delay = FAST; if (!busy) { schedule(FAST); } }
  });

  /* ---- Keys ---- */

  function rows() { return Array.prototype.slice.call(document.querySelectorAll("#execution-list tr.execution-row")); }
  function focusedRow() {
    var active = document.activeElement;
    return active && active.closest ? active.closest("#execution-list tr.execution-row") : null;
  }

  function move(step) {
    var all = rows();
    if (!all.length) { return; }
    var index = all.indexOf(focusedRow());
    var next = index < 0 ? (step > 0 ? 0 : all.length - 1) : Math.max(0, Math.min(all.length - 1, index + step));
    var link = all[next].querySelector("a.row-link");
    if (link) { link.focus(); }
  }

  function say(text) {
    var status = document.getElementById("list-status");
    if (status) { status.textContent = text; }
  }

  function csrfToken() {
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || ""; } catch (e) { return ""; }
  }

  function rerun(row) {
    var number = row.id.replace("execution-", "#");
    var url = row.getAttribute("data-rerun");
    if (!url) { say("Only a failed run can be re-run from here; " + number + " is " + row.getAttribute("data-status") + "."); return; }
    if (!window.confirm("Re-run execution " + number + " from its failed step? The steps that completed are not run again.")) { return; }
    say("Starting a re-run of " + number + "…");
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      redirect: "manual",
      headers: { "X-CSRFToken": csrfToken(), "HX-Request": "true", "Content-Type": "application/x-www-form-urlencoded" },
      body: "mode=failed"
    }).then(function (response) {
      var target = response.headers.get("HX-Redirect") || "";
      var started = target.match(/\/executions\/(\d+)$/);
      if (started) {
        say("Re-run of " + number + " started as #" + started[1] + ".");
      } else {
        say("The re-run of " + number + " did not start. Open the execution to see why.");
      }
      soon();
    }, function () { say("The re-run of " + number + " did not start: the server did not answer."); });
  }

  function focusSearch() {
    var field = document.getElementById("filter-run-key");
    if (!field) { return; }
    var fold = field.closest("details");
    if (fold && !fold.open) { fold.open = true; }
    field.focus();
    field.select();
  }

  function typing(target) {
    return !!(target && target.closest && (target.isContentEditable || target.closest("input, textarea, select, [contenteditable]")));
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || !list()) { return; }
    if (typing(event.target)) { return; }
    if (event.key === "j" || event.key === "k") {
      event.preventDefault();
      move(event.key === "j" ? 1 : -1);
    } else if (event.key === "/") {
      event.preventDefault();
      focusSearch();
    } else if (event.key === "r") {
      var row = focusedRow();
      if (row) { event.preventDefault(); rerun(row); }
    }
  });

  document.addEventListener("DOMContentLoaded", function () { schedule(FAST); });
}());
