/* Stepline's workflow editor: drag-and-drop reordering, the data picker, focus and
   announcements around htmx swaps. Everything here is an enhancement: the editor works with
   plain forms and links when this file does not run. No inline scripts (CSP script-src 'self'). */
(function () {
  "use strict";

  document.documentElement.classList.add("js");

  var announcer = function () { return document.getElementById("announce"); };
  var alertBox = function () { return document.getElementById("editor-alert"); };

  function announce(message) {
    var region = announcer();
    if (!region || !message) { return; }
    region.textContent = "";
    window.setTimeout(function () { region.textContent = message; }, 50);
  }

  function showAlert(message) {
    var box = alertBox();
    if (!box) { return; }
    box.textContent = message;
    box.hidden = !message;
  }

  function editorUrl() {
    var editor = document.querySelector(".editor");
    return editor ? editor.getAttribute("data-workflow-url") : null;
  }

  /* -- announcements and errors -------------------------------------------------------- */

  document.body.addEventListener("stepline:announce", function (event) {
    announce(event.detail && event.detail.value);
  });

  document.body.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr.status;
    var messages = {
      400: "The page is out of date (the form expired). Reload it and try again.",
      404: "That item no longer exists. Reload the page to see the current workflow.",
      409: "Someone changed this workflow at the same moment. Reload the page and try again."
    };
    showAlert(messages[status] || "Something went wrong on our side (HTTP " + status + "). Try again.");
  });

  document.body.addEventListener("htmx:sendError", function () {
    showAlert("Stepline cannot be reached. Check your connection and try again.");
  });

  document.body.addEventListener("htmx:afterRequest", function (event) {
    if (event.detail.successful) { showAlert(""); }
  });

  /* A removed step (or branch) may be the one the panel shows: show the panel's start page
     instead. A removed loop or paths step names every step it held, separated by spaces. */
  function closePanelIf(attribute, values) {
    var panel = document.getElementById("panel");
    var url = editorUrl();
    if (panel && url && values.indexOf(panel.getAttribute(attribute)) !== -1) {
      window.htmx.ajax("GET", url, { target: "#panel", swap: "outerHTML" });
      window.history.replaceState({}, "", url);
    }
  }

  document.body.addEventListener("stepline:step-removed", function (event) {
    closePanelIf("data-step-key", String((event.detail && event.detail.value) || "").split(" "));
  });

  document.body.addEventListener("stepline:branch-removed", function (event) {
    closePanelIf("data-branch", [String((event.detail && event.detail.value) || "")]);
  });

  /* Buttons marked aria-disabled stay focusable (focus is kept after a move) but do nothing. */
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[aria-disabled='true']");
    if (button) { event.preventDefault(); }
  }, true);

  /* -- selection and focus after swaps ------------------------------------------------- */

  function markSelected() {
    var panel = document.getElementById("panel");
    if (!panel) { return; }
    var kind = panel.getAttribute("data-panel");
    var key = panel.getAttribute("data-step-key");
    document.querySelectorAll(".flow-card.is-selected").forEach(function (card) {
      card.classList.remove("is-selected");
    });
    var card = null;
    if (kind === "step" && key) {
      var item = document.getElementById("step-" + key);
      card = item && item.querySelector(".flow-card");
    } else if (kind === "trigger") {
      card = document.getElementById("trigger-card");
    }
    if (card) { card.classList.add("is-selected"); }
  }

  var lastIndex = null;
  var flowFocus = null;  /* id of the flow control that had focus when a flow change started */
  var movedKey = null;  /* the step a card change was about (its menu takes the focus back) */

  document.body.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    if (!elt.closest || !elt.closest("#flow")) { return; }
    var step = elt.closest(".flow-step");
    var to = elt.matches("form.move-to") ? elt.querySelector("input[name=to]") : null;
    lastIndex = to ? Number(to.value) : step ? Number(step.getAttribute("data-index")) : null;
    var active = document.activeElement;
    flowFocus = active && active.id && active.closest("#flow") ? active.id : null;
    movedKey = step ? step.getAttribute("data-key") : null;
  });

  document.body.addEventListener("htmx:afterSettle", function (event) {
    markSelected();
    var target = event.detail.target;
    if (!target || !target.id) { return; }
    var lost = !document.activeElement || document.activeElement === document.body;
    var from = event.detail.requestConfig && event.detail.requestConfig.elt;
    if (target.id === "panel") {
      var invalid = target.querySelector("[aria-invalid='true']");
      if (invalid) { invalid.focus(); return; }
      if (lost || (from && from.tagName === "A")) { target.focus(); }
    } else if (target.id === "flow") {
      /* Keep focus on the control that made the change (move up/down): htmx restores it by id,
         and this holds it there even when another region swapped meanwhile. */
      var kept = flowFocus && document.getElementById(flowFocus);
      if (kept) {
        if (document.activeElement !== kept) { kept.focus(); }
        return;
      }
      /* The control is gone (a step moved out of its loop has no "Move out" any more): the
         moved step's menu button takes the focus, wherever the step went. */
      var moved = movedKey && document.querySelector("#step-" + movedKey + " > .flow-card .card-menu summary");
      if (moved && flowFocus) {
        moved.focus();
        return;
      }
      if (!lost) { return; }
      var steps = target.querySelectorAll(".flow-step .card-title a");
      var index = lastIndex === null ? 0 : Math.min(lastIndex, steps.length - 1);
      var next = steps[index] || document.getElementById("add-step-0");
      if (next) { next.focus(); }
    }
  });

  /* -- the data picker ----------------------------------------------------------------- */

  function closePicker(returnFocus) {
    var picker = document.getElementById("picker");
    if (!picker) { return; }
    picker.open = false;
    document.querySelectorAll(".picker-toggle[aria-expanded='true']").forEach(function (toggle) {
      toggle.setAttribute("aria-expanded", "false");
      if (returnFocus) { toggle.focus(); }
    });
  }

  document.addEventListener("click", function (event) {
    var toggle = event.target.closest && event.target.closest(".picker-toggle");
    var picker = document.getElementById("picker");
    if (toggle && picker) {
      var open = toggle.getAttribute("aria-expanded") === "true";
      closePicker(false);
      if (open) { return; }
      toggle.closest(".field").after(picker);
      picker.setAttribute("data-target", toggle.getAttribute("data-picker-for"));
      picker.open = true;
      toggle.setAttribute("aria-expanded", "true");
      var first = picker.querySelector(".picker-item");
      if (first) { first.focus(); }
      return;
    }
    var item = event.target.closest && event.target.closest(".picker-item");
    if (item && picker) {
      var field = document.getElementById(picker.getAttribute("data-target") || "");
      if (!field) {
        field = picker.parentElement.querySelector(".field input[type=text], .field textarea");
      }
      if (!field) { return; }
      var text = item.getAttribute("data-insert");
      var start = typeof field.selectionStart === "number" ? field.selectionStart : field.value.length;
      var end = typeof field.selectionEnd === "number" ? field.selectionEnd : start;
      if (field.hasAttribute("data-json") && !insideString(field.value.slice(0, start))) {
        text = JSON.stringify(text);  /* a JSON field outside a string: insert a string */
      }
      field.setRangeText(text, start, end, "end");
      field.dispatchEvent(new Event("input", { bubbles: true }));
      closePicker(false);
      field.focus();
      announce("Inserted " + text);
    }
  });

  /* Whether the end of `text` (JSON being typed) is inside a string literal. */
  function insideString(text) {
    var inside = false;
    for (var i = 0; i < text.length; i += 1) {
      if (text[i] === "\\") { i += 1; } else if (text[i] === '"') { inside = !inside; }
    }
    return inside;
  }

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && event.target.closest && event.target.closest("#picker")) {
      closePicker(true);
    }
  });

  /* -- drag and drop (pointer events: mouse, pen and touch alike) ------------------------ */

  var drag = null;

  function targetIndex(clientY) {
    var index = 0;
    drag.others.forEach(function (other) {
      var box = other.getBoundingClientRect();
      if (clientY > box.top + box.height / 2) { index += 1; }
    });
    return index;
  }

  function showDrop(index) {
    drag.others.forEach(function (other, i) {
      other.classList.toggle("drop-before", i === index);
      other.classList.toggle("drop-after", index === drag.others.length && i === index - 1);
    });
  }

  document.addEventListener("pointerdown", function (event) {
    var handle = event.target.closest && event.target.closest(".drag-handle");
    if (!handle || event.button !== 0) { return; }
    var item = handle.closest(".flow-step");
    var list = item && item.parentElement;
    if (!list) { return; }
    event.preventDefault();
    var items = Array.prototype.slice.call(list.children);
    drag = {
      item: item,
      start: items.indexOf(item),
      others: items.filter(function (other) { return other !== item; }),
      originY: event.clientY,
      index: items.indexOf(item)
    };
    handle.setPointerCapture(event.pointerId);
    item.classList.add("is-dragging");
  });

  document.addEventListener("pointermove", function (event) {
    if (!drag) { return; }
    drag.item.style.transform = "translateY(" + (event.clientY - drag.originY) + "px)";
    drag.index = targetIndex(event.clientY);
    showDrop(drag.index);
  });

  function endDrag(commit) {
    if (!drag) { return; }
    var finished = drag;
    drag = null;
    finished.item.classList.remove("is-dragging");
    finished.item.style.transform = "";
    finished.others.forEach(function (other) {
      other.classList.remove("drop-before", "drop-after");
    });
    if (commit && finished.index !== finished.start) {
      var form = finished.item.querySelector("form.move-to");
      form.querySelector("input[name=to]").value = String(finished.index);
      form.requestSubmit();
    }
  }

  document.addEventListener("pointerup", function () { endDrag(true); });
  document.addEventListener("pointercancel", function () { endDrag(false); });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { endDrag(false); }
  });

  document.addEventListener("DOMContentLoaded", markSelected);
})();
