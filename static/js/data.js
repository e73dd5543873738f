/* Seeing data. In the editor: after "Test this step" the result is brought into view and takes
   focus (it is the work the user waits for); a whole-workflow test's results show on each card.
   Wherever a data view is shown (templates/_data_tree.html's data_view, e.g. a run's page): its
   copy buttons copy one value (text as it is, anything else as JSON) or the whole, read from the
   view's raw JSON. An enhancement only: without it the data is still rendered. */
(function () {
  "use strict";

  document.documentElement.classList.add("js");

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

  /* -- Copy a value of a data view ------------------------------------------------------
     Buttons are added to the rows of a level when it is shown (at load, when a node unfolds,
     after an htmx swap); a button finds its value's path from the keys of the rows above it
     and reads the value from the view's raw JSON. */

  function announce(text) {
    var region = document.getElementById("announce");
    if (!region) {
      region = document.createElement("p");
      region.id = "announce";
      region.className = "visually-hidden";
      region.setAttribute("aria-live", "polite");
      document.body.appendChild(region);
    }
    region.textContent = "";
    window.setTimeout(function () { region.textContent = text; }, 50);
  }

  function keyOf(row) {
    var key = row.querySelector(":scope > details > summary > .dt-key, :scope > .dt-leaf > .dt-key");
    return key ? key.textContent : "";
  }

  /* The row's path in the whole ([] for the whole) and how to say it ("body.lines[0].sku"). */
  function locate(row) {
    var rows = [];
    for (var node = row; node && !node.classList.contains("data-tree"); node = node.parentElement) {
      if (node.tagName === "LI" && !node.hasAttribute("data-root")) { rows.unshift(node); }
    }
    var path = [];
    var shown = "";
    rows.forEach(function (item) {
      var key = keyOf(item);
      var owner = item.parentElement.closest("details.dt-node");
      var type = owner ? owner.querySelector(":scope > summary > .dt-type") : null;
      if (type && type.textContent === "list") {
        path.push(Number(key));
        shown += "[" + key + "]";
      } else {
        path.push(key);
        shown += (shown ? "." : "") + key;
      }
    });
    return { path: path, shown: shown };
  }

  function addButtons(list) {
    if (!list || !list.closest(".dt-copyable")) { return; }
    Array.prototype.forEach.call(list.children, function (row) {
      if (row.classList.contains("dt-more") || row.querySelector(":scope > .dt-copy")) { return; }
      var where = locate(row);
      var button = document.createElement("button");
      button.type = "button";
      button.className = "dt-copy";
      button.title = "Copy";
      button.setAttribute("data-dt-copy", "");
      button.setAttribute("data-path", JSON.stringify(where.path));
      var tree = row.closest(".data-tree");
      button.setAttribute("aria-label", "Copy " + (where.shown || tree.getAttribute("aria-label")));
      row.appendChild(button);
    });
  }

  function prepare(root) {
    if (!root.querySelectorAll) { return; }
    root.querySelectorAll(".dt-copyable .dt-root, .dt-copyable details[open] > .dt-children")
      .forEach(addButtons);
  }

  document.addEventListener("toggle", function (event) {
    var node = event.target;
    if (node.matches && node.matches(".dt-copyable details.dt-node") && node.open) {
      addButtons(node.querySelector(":scope > .dt-children"));
    }
  }, true);
  prepare(document);
  document.body.addEventListener("htmx:afterSettle", function (event) { prepare(event.detail.elt || document); });

  function valueAt(view, path) {
    var source = view.querySelector("[data-dv-json]");
    var value = JSON.parse(source.textContent);
    for (var i = 0; i < path.length; i += 1) {
      if (value === null || typeof value !== "object") { return undefined; }
      value = value[path[i]];
    }
    return value;
  }

  function fallbackCopy(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "visually-hidden";
    document.body.appendChild(area);
    area.select();
    try { document.execCommand("copy"); } finally { document.body.removeChild(area); }
  }

  function copied(button) {
    button.classList.add("is-copied");
    var label = button.querySelector("span:not(.visually-hidden)");
    var before = label ? label.textContent : null;
    if (label) { label.textContent = "Copied"; }
    window.setTimeout(function () {
      button.classList.remove("is-copied");
      if (label) { label.textContent = before; }
    }, 1500);
    var what = button.getAttribute("aria-label") || (button.textContent || "").trim();
    announce("Copied to the clipboard: " + what.replace(/^Copy (JSON of )?/, "") + ".");
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-dt-copy]");
    if (!button) { return; }
    var view = button.closest(".data-view");
    if (!view) { return; }
    var value = valueAt(view, JSON.parse(button.getAttribute("data-path") || "[]"));
    var text = typeof value === "string" ? value : JSON.stringify(value, null, 2);
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { copied(button); }, function () {
        fallbackCopy(text); copied(button);
      });
    } else {
      fallbackCopy(text);
      copied(button);
    }
  });
})();
