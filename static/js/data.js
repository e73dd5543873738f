/* Seeing data in the editor: after "Test this step" the result is brought into view and takes
   focus (it is the work the user waits for); a whole-workflow test's results show on each card.
   An enhancement only: without it the result is still rendered in the panel. */
(function () {
  "use strict";

  var reduceMotion = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;

  function pinTrial(root) {
    var trial = root.querySelector ? root.querySelector("#trial.trial-fresh") : null;
    if (!trial) { return; }
    trial.scrollIntoView({ block: "start", behavior: reduceMotion ? "auto" : "smooth" });
    trial.focus({ preventScroll: true });
  }

  /* htmx:afterSettle runs after editor.js's own focus handling (registered earlier). */
  document.body.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail.target;
    if (!target || target.id !== "panel") { return; }
    var from = event.detail.requestConfig && event.detail.requestConfig.elt;
    var tested = from && (from.id === "test-step" || (from.closest && from.closest("#test-step")));
    var submitter = event.detail.requestConfig && event.detail.requestConfig.triggeringEvent &&
      event.detail.requestConfig.triggeringEvent.submitter;
    /* (an outerHTML swap's target is the old, detached panel: look the new one up) */
    if (tested || (submitter && submitter.id === "test-step")) { pinTrial(document); }
  });

  /* A redrawn flow has empty result slots: ask the test run's region again to fill them. */
  document.body.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (!target || target.id !== "flow") { return; }
    var region = document.getElementById("test-run");
    var url = region && region.getAttribute("data-poll-url");
    if (url && !region.hasAttribute("hx-trigger")) {
      window.htmx.ajax("GET", url, { target: "#test-run", swap: "outerHTML" });
    }
  });
})();
