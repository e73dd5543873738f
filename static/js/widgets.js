/* Stepline's panel widgets: rows (add, remove, reorder), the condition builder's unary
   operators and groups, JSON checked as it is typed, the body editor choosing its type, the draft
   autosave's note, leaving with unsaved changes, and a save made in another tab.
   Everything here is an enhancement: the forms post the same fields without it.
   No framework, no inline scripts (CSP script-src 'self'). */
(function () {
  "use strict";

  var counter = 0;

  function widgetOf(node) { return node.closest && node.closest("[data-widget]"); }
  /* The list a button adds to: its group's, its body pane's, or its widget's own. */
  function paneRows(button) {
    var scope = button.closest("[data-group]") || button.closest("[data-body-pane]") || widgetOf(button);
    return scope && scope.querySelector(":scope > [data-rows]");
  }

  /* A change the autosave must hear about (rows added, removed or moved). */
  function changed(node) {
    var form = node.closest && node.closest("form");
    if (form) { form.dispatchEvent(new CustomEvent("stepline:rows-changed", { bubbles: true })); }
  }

  /* A row (or a group) from a template: its placeholder ("__i__", or "__j__" for a group's
     rows) becomes an index of letters and digits that no other row has, in names and in ids
     (where field_id wrote it "--i--"), so that no two rows share an id. */
  function fromTemplate(template) {
    counter += 1;
    var name = template.getAttribute("data-placeholder") || "__i__";
    var fresh = "n" + Date.now().toString(36) + counter;
    var html = template.innerHTML.replace(new RegExp(name, "g"), fresh)
      .replace(new RegExp(name.replace(/_/g, "-"), "g"), fresh);
    var holder = document.createElement("ol");
    holder.innerHTML = html.trim();
    return holder.firstElementChild;
  }

  function newRow(list) {
    var template = list.parentElement.querySelector(":scope > template[data-row-template]");
    if (!template) { return null; }
    var row = fromTemplate(template);
    list.appendChild(row);
    syncRow(row);
    return row;
  }

  /* "Add a group": a group of the condition builder, placed before the list's blank row. */
  function addGroup(button) {
    var widget = widgetOf(button);
    var list = widget && widget.querySelector(":scope > [data-rows]");
    var template = widget && widget.querySelector(":scope > template[data-group-template]");
    if (!list || !template) { return; }
    var group = fromTemplate(template);
    var rows = list.querySelectorAll(":scope > [data-row]");
    var last = rows[rows.length - 1];
    if (last && !last.hasAttribute("data-group") && isBlank(last)) {
      list.insertBefore(group, last);
    } else {
      list.appendChild(group);
    }
    group.querySelectorAll("[data-row]").forEach(syncRow);
    var first = group.querySelector("input[type=text]");
    if (first) { first.focus(); }
    changed(list);
  }

  /* The group the page offers to fill without JavaScript: "Add a group" makes one here. */
  function dropBlankGroups(root) {
    root.querySelectorAll("[data-blank-group]").forEach(function (group) { group.remove(); });
  }

  function isBlank(row) {
    var blank = true;
    row.querySelectorAll("input[type=text]").forEach(function (input) {
      if (input.value !== "") { blank = false; }
    });
    return blank;
  }

  /* Keep exactly one blank row at the end of each list (where the next row is typed). */
  function keepBlankRow(list) {
    var rows = list.querySelectorAll(":scope > [data-row]");
    var last = rows[rows.length - 1];
    if (!last || !isBlank(last)) { newRow(list); }
  }

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (!target.closest) { return; }
    var addGroupButton = target.closest("[data-add-group]");
    if (addGroupButton) { addGroup(addGroupButton); return; }
    var add = target.closest("[data-add-row]");
    if (add) {
      var list = paneRows(add);
      if (!list) { return; }
      var rows = list.querySelectorAll(":scope > [data-row]");
      var last = rows[rows.length - 1];
      var row = last && isBlank(last) ? last : newRow(list);
      var first = row && row.querySelector("input, select");
      if (first) { first.focus(); }
      return;
    }
    var remove = target.closest("[data-remove]");
    if (remove) {
      var gone = remove.closest("[data-row]");
      var parent = gone.parentElement;
      var next = gone.nextElementSibling || gone.previousElementSibling;
      gone.remove();
      keepBlankRow(parent);
      var focus = next && next.querySelector("input");
      if (focus) { focus.focus(); }
      changed(parent);
      return;
    }
    var move = target.closest("[data-move]");
    if (move) {
      var moving = move.closest("[data-row]");
      if (move.getAttribute("data-move") === "up" && moving.previousElementSibling) {
        moving.parentElement.insertBefore(moving, moving.previousElementSibling);
      } else if (move.getAttribute("data-move") === "down" && moving.nextElementSibling) {
        moving.parentElement.insertBefore(moving.nextElementSibling, moving);
      } else {
        return;
      }
      move.focus();
      changed(moving);
    }
  });

  /* The condition builder: a unary operator ("is empty") has no right side. */
  function syncRow(row) {
    var widget = widgetOf(row);
    var operator = row.querySelector("[data-operator]");
    var right = row.querySelector("[data-right]");
    if (!widget || !operator || !right) { return; }
    var unary = (widget.getAttribute("data-unary") || "").split(" ");
    right.hidden = unary.indexOf(operator.value) !== -1;
  }

  /* Progressive disclosure: fields that belong to a choice ("auth_token" to "auth_type")
     show only once that choice is not "none", or, with data-needs-value, only while it is
     that value (a delay's "until" while it waits until a time); a field with an error
     always shows. */
  function applyNeeds(root) {
    root.querySelectorAll("[data-needs]").forEach(function (field) {
      var form = field.closest("form");
      var owner = form && form.querySelector("[name='" + field.getAttribute("data-needs") + "']");
      if (!owner) { return; }
      var wanted = field.getAttribute("data-needs-value");
      var off = wanted === null ? owner.value === "none" : owner.value !== wanted;
      field.hidden = off && !field.classList.contains("has-error");
    });
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.form && target.name) { applyNeeds(target.form); }
    if (target.matches && target.matches("[data-operator]")) { syncRow(target.closest("[data-row]")); }
    if (target.matches && target.matches("[data-body-type]")) {
      var widget = widgetOf(target);
      widget.setAttribute("data-type-chosen", "true");
      showBodyPane(widget);
    }
  });

  /* -- JSON as it is typed; the body editor's type ------------------------------------- */

  function jsonProblem(text) {
    if (!text.trim()) { return ""; }
    try { JSON.parse(text); return ""; } catch (error) { return String(error.message || error); }
  }

  function bodyType(widget) {
    var checked = widget.querySelector("[data-body-type]:checked");
    return checked ? checked.value : "none";
  }

  function setBodyType(widget, type) {
    var radio = widget.querySelector("[data-body-type][value='" + type + "']");
    if (radio && !radio.checked) { radio.checked = true; showBodyPane(widget); }
  }

  function showBodyPane(widget) {
    var type = bodyType(widget);
    var text = widget.querySelector("[data-body-pane='text']");
    var form = widget.querySelector("[data-body-pane='form']");
    if (text) { text.hidden = type === "form"; }
    if (form) {
      form.hidden = type !== "form" && type !== "json";  /* JSON: an object from fields */
      var note = form.querySelector(".body-fields-help");
      if (note) {
        note.textContent = type === "json" ? "Fields, sent as a JSON object; or write the JSON below."
          : "Fields, sent form-encoded.";
      }
      var list = form.querySelector("[data-rows]");
      if (list && !form.hidden) { keepBlankRow(list); }
    }
    var area = widget.querySelector("[data-body-text]");
    if (area) {
      area.setAttribute("data-json-live", type === "json" || type === "none" ? "on" : "off");
      checkJson(area);
    }
  }

  /* A body typed while no type is chosen picks its type: JSON when it reads as JSON (an
     object or a list), text otherwise; an emptied body goes back to "No body". */
  function chooseBodyType(area) {
    var widget = widgetOf(area);
    if (!widget || widget.getAttribute("data-type-chosen") === "true") { return; }
    var text = area.value.trim();
    var type = bodyType(widget);
    if (!text) { setBodyType(widget, "none"); return; }
    var structure = /^[[{]/.test(text);
    if (type === "none" || (type === "text" && structure && !jsonProblem(text))) {
      setBodyType(widget, structure ? "json" : "text");
    }
  }

  function checkJson(area) {
    var holder = area.closest(".field, .body-text");
    var status = holder && (holder.querySelector("[data-json-status]") || holder.querySelector(".json-status"));
    if (!status && holder) {
      status = document.createElement("p");
      status.className = "json-status help";
      status.setAttribute("data-json-status", "");
      status.setAttribute("aria-live", "polite");
      area.insertAdjacentElement("afterend", status);
    }
    if (!status) { return; }
    var problem = area.getAttribute("data-json-live") === "on" ? jsonProblem(area.value) : "";
    status.classList.toggle("json-bad", Boolean(problem));
    status.classList.toggle("json-good", !problem && area.value.trim() !== "" && area.getAttribute("data-json-live") === "on");
    status.textContent = problem ? "Not valid JSON yet: " + problem
      : (area.value.trim() && area.getAttribute("data-json-live") === "on" ? "Valid JSON" : "");
  }

  document.addEventListener("input", function (event) {
    var target = event.target;
    if (!target.matches) { return; }
    if (target.matches("[data-body-text]")) { chooseBodyType(target); }
    if (target.matches("[data-json-live]")) { checkJson(target); }
    var row = target.closest("[data-row]");
    if (row && row.parentElement && !row.nextElementSibling && !isBlank(row)) {
      keepBlankRow(row.parentElement);
    }
    var form = target.closest("form[data-draft-form]");
    if (form) { dirty = true; pending = form; }
  });

  /* "Insert data" beside a widget inserts into the input of it last focused. */
  document.addEventListener("focusin", function (event) {
    var target = event.target;
    var widget = target.closest && widgetOf(target);
    if (!widget || !target.matches("[data-pick-target]")) { return; }
    var toggle = widget.querySelector(".picker-toggle");
    if (toggle) { toggle.setAttribute("data-picker-for", target.id); }
  });

  /* -- the draft: autosave's note, leaving, other tabs --------------------------------- */

  var dirty = false;  /* the draft differs from the saved version, or typing is not sent yet */
  var pending = null;  /* the form whose last change has not reached the draft yet */
  var knownVersion = null;

  function panel() { return document.getElementById("panel"); }

  function readPanelState() {
    var element = panel();
    if (!element) { return; }
    if (element.getAttribute("data-dirty") === "true") { dirty = true; }
    var version = Number(element.getAttribute("data-version"));
    if (version && (knownVersion === null || version > knownVersion)) { knownVersion = version; }
  }

  document.body.addEventListener("htmx:afterRequest", function (event) {
    var elt = event.detail.elt;
    if (!elt || !elt.hasAttribute || !elt.hasAttribute("data-autosave")) { return; }
    pending = null;
    var note = elt.parentElement && elt.parentElement.querySelector("[data-draft-note]");
    if (!note) { return; }
    if (event.detail.successful) {
      var time = new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
      note.textContent = "Kept in the draft at " + time + ". Save to publish.";
    } else {
      note.textContent = "Not kept yet: the draft could not be reached. Keep this tab open and try again.";
    }
  });

  /* An autosave refused because the step is gone (deleted, renamed by Apply) is not an error
     to show: the panel that sent it is being replaced. */
  document.body.addEventListener("htmx:responseError", function (event) {
    var elt = event.detail.elt;
    if (elt && elt.hasAttribute && elt.hasAttribute("data-autosave") && event.detail.xhr.status === 404) {
      event.stopImmediatePropagation();
    }
  }, true);

  document.body.addEventListener("stepline:changed", function () { dirty = true; });
  document.body.addEventListener("stepline:saved", function () {
    dirty = false;
    refreshState(false);
  });
  document.body.addEventListener("htmx:afterSettle", readPanelState);

  /* Typing not sent yet goes to the draft as the page is left (sendBeacon survives unload). */
  function flush() {
    if (!pending || !navigator.sendBeacon) { return; }
    var autosave = pending.querySelector("[data-autosave]");
    if (autosave) { navigator.sendBeacon(autosave.getAttribute("hx-post"), new FormData(pending)); }
    pending = null;
  }

  window.addEventListener("beforeunload", function (event) {
    flush();
    if (!dirty || !document.querySelector(".editor")) { return; }
    event.preventDefault();
    event.returnValue = "";  /* the browser asks: changes since the last Save are in the draft */
  });

  /* Saving (in this tab) and leaving through the editor's own links do not ask. */
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.action && /\/(save|discard)$/.test(form.action)) { dirty = false; }
  }, true);

  function showSavedElsewhere(version) {
    var box = document.getElementById("saved-elsewhere");
    var editor = document.querySelector(".editor");
    if (!editor) { return; }
    if (!box) {
      box = document.createElement("div");
      box.id = "saved-elsewhere";
      box.className = "notice notice-warn saved-elsewhere";
      box.setAttribute("role", "alert");
      var body = editor.querySelector(".editor-body");
      editor.insertBefore(box, body);
    }
    box.textContent = "";
    var text = document.createElement("span");
    text.textContent = "Saved in another tab (version " + version + "). ";
    var reload = document.createElement("button");
    reload.type = "button";
    reload.className = "button small";
    reload.textContent = "Reload";
    reload.addEventListener("click", function () { dirty = false; window.location.reload(); });
    box.appendChild(text);
    box.appendChild(reload);
  }

  function refreshState(compare) {
    var element = panel();
    var url = element && element.getAttribute("data-state-url");
    if (!url || !window.fetch) { return; }
    window.fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (state) {
        if (!state) { return; }
        if (compare && knownVersion !== null && state.version > knownVersion) {
          showSavedElsewhere(state.version);
        } else {
          knownVersion = state.version;
        }
        dirty = dirty && state.dirty;
      })
      .catch(function () { /* offline: the next focus checks again */ });
  }

  window.addEventListener("focus", function () { refreshState(true); });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") { refreshState(true); }
  });

  function init() {
    dropBlankGroups(document);
    readPanelState();
    applyNeeds(document);
    document.querySelectorAll("[data-widget='conditions'] [data-row]").forEach(syncRow);
    document.querySelectorAll("[data-json-live]").forEach(function (area) {
      if (area.value.trim()) { checkJson(area); }
    });
  }

  document.body.addEventListener("htmx:load", function (event) {
    var root = event.detail.elt;
    if (!root.querySelectorAll) { return; }
    dropBlankGroups(root);
    applyNeeds(root);
    root.querySelectorAll("[data-widget='conditions'] [data-row]").forEach(syncRow);
    root.querySelectorAll("[data-json-live]").forEach(function (area) {
      if (area.value.trim()) { checkJson(area); }
    });
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
