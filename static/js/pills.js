/* Mapping pills: a field that reads earlier data shows each `{{ … }}` template as a pill
   ("Trigger › customer", the sample value on hover) while the input keeps the template text,
   so the form posts exactly what it did without this file. Focused, the field shows the text to
   edit, with a preview of what it renders to under it. Typing `{{` opens the data picker with
   its search box; choosing a field replaces the `{{` with the template.

   The overlay is drawn over the input and hidden from assistive technology (aria-hidden): the
   input, its label and its value stay what a screen reader reads; the preview line is text. */
(function () {
  "use strict";

  var TOKEN = /\{\{[\s\S]*?\}\}/g;
  var HAS_TOKEN = /\{\{[\s\S]*?\}\}/;
  var known = {};  /* inner expression → {source, path, preview} from the open panel's picker */

  function inner(expression) {
    return expression.replace(/^\{\{\s*|\s*\}\}$/g, "").replace(/\s+/g, " ");
  }

  /* -- what the picker knows: labels and sample values -------------------------------- */

  function learn(root) {
    var picker = (root.querySelector && root.querySelector("#picker")) || document.getElementById("picker");
    known = {};
    if (!picker) { return; }
    picker.querySelectorAll(".picker-group").forEach(function (group) {
      var title = group.querySelector(".picker-group-title");
      var source = title ? title.firstChild.textContent.trim().replace(/^\d+\.\s*/, "") : "";
      group.querySelectorAll(".picker-item").forEach(function (item) {
        var code = item.querySelector("code");
        var value = item.querySelector(".picker-value");
        known[inner(item.getAttribute("data-insert") || "")] = {
          source: source,
          path: code ? code.textContent : "",
          preview: value ? value.textContent : ""
        };
      });
    });
  }

  function describe(expression) {
    var key = inner(expression);
    var entry = known[key];
    if (entry) { return { source: entry.source, path: entry.path, preview: entry.preview, known: true }; }
    var match = /^(trigger|steps\.([A-Za-z_][A-Za-z0-9_]*))((?:\.|\[)[\s\S]*)?$/.exec(key);
    if (match) {
      var path = (match[3] || "").replace(/^\./, "");
      var source = match[1] === "trigger" ? "Trigger" : stepName(match[2]) || match[2];
      return { source: source, path: path || (match[2] ? "whole output" : "all data"), preview: "", known: false };
    }
    return { source: "", path: key, preview: "", known: false };
  }

  function pill(expression) {
    var info = describe(expression);
    var span = document.createElement("span");
    span.className = "pill" + (info.known ? "" : " pill-unknown");
    span.title = info.known
      ? expression + " · sample: " + info.preview
      : expression + " · no sample value yet";
    if (info.source) {
      var source = document.createElement("span");
      source.className = "pill-source";
      source.textContent = info.source;
      var sep = document.createElement("span");
      sep.className = "pill-sep";
      sep.textContent = "›";
      span.append(source, sep);
    }
    var path = document.createElement("span");
    path.className = "pill-path";
    path.textContent = info.path.split(".").join(" › ");  /* as the cards read: customer › name */
    span.append(path);
    return span;
  }

  /* The text with each template drawn as a pill. */
  function drawInto(target, text) {
    target.textContent = "";
    var last = 0;
    text.replace(TOKEN, function (match, offset) {
      if (offset > last) { target.append(document.createTextNode(text.slice(last, offset))); }
      target.append(pill(match));
      last = offset + match.length;
      return match;
    });
    if (last < text.length) { target.append(document.createTextNode(text.slice(last))); }
  }

  /* What the text renders to with the sample data, when every template is a known field. */
  function rendered(text) {
    var complete = true;
    var out = text.replace(TOKEN, function (match) {
      var entry = known[inner(match)];
      if (!entry || /…/.test(entry.preview) || /^[{[]…/.test(entry.preview)) {
        complete = false;
        return match;
      }
      var value = entry.preview;
      if (value.charAt(0) === '"') {
        try { value = JSON.parse(value); } catch (ignored) { complete = false; }
      }
      return value;
    });
    return complete ? out : null;
  }

  /* -- fields ------------------------------------------------------------------------- */

  function eligible(field) {
    if (!field || field.readOnly || field.disabled || field.hasAttribute("data-json")) { return false; }
    if (field.hasAttribute("data-pills")) { return true; }
    if (field.tagName === "TEXTAREA") { return !!document.querySelector(".picker-toggle[data-picker-for='" + field.id + "']"); }
    if (field.tagName !== "INPUT" || (field.type !== "text" && field.type !== "")) { return false; }
    if (!field.closest("#panel form.panel-form")) { return false; }
    return field.name !== "key" && field.name !== "name" && !/^retry\./.test(field.name);
  }

  function copyBox(field, overlay) {
    var style = window.getComputedStyle(field);
    ["paddingTop", "paddingRight", "paddingBottom", "paddingLeft", "fontSize", "fontFamily",
     "lineHeight", "borderTopWidth", "borderRightWidth", "borderBottomWidth", "borderLeftWidth",
     "borderRadius"].forEach(function (name) { overlay.style[name] = style[name]; });
    overlay.style.top = field.offsetTop + "px";
    overlay.style.left = field.offsetLeft + "px";
    overlay.style.width = field.offsetWidth + "px";
    overlay.style.height = field.offsetHeight + "px";
    overlay.style.right = "auto";
    overlay.style.bottom = "auto";
  }

  function parts(field) {
    var holder = field.parentElement;
    return {
      holder: holder,
      overlay: holder.querySelector(".pill-overlay[data-for='" + field.id + "']"),
      preview: holder.querySelector(".pill-preview[data-for='" + field.id + "']")
    };
  }

  function refresh(field) {
    if (!eligible(field)) { return; }
    var has = HAS_TOKEN.test(field.value);
    var p = parts(field);
    if (!has) {
      if (p.overlay) { p.overlay.remove(); }
      if (p.preview) { p.preview.remove(); }
      return;
    }
    p.holder.classList.add("pill-field");
    if (!p.overlay) {
      p.overlay = document.createElement("div");
      p.overlay.className = "pill-overlay" + (field.tagName === "TEXTAREA" ? " is-multiline" : "");
      p.overlay.setAttribute("data-for", field.id);
      p.overlay.setAttribute("aria-hidden", "true");
      field.after(p.overlay);
    }
    /* the preview line goes under a whole field, never into a row of a list (its layout) */
    var lone = p.holder.classList.contains("field") || p.holder.classList.contains("url-input");
    if (!p.preview && lone) {
      p.preview = document.createElement("p");
      p.preview.className = "pill-preview";
      p.preview.setAttribute("data-for", field.id);
      p.preview.id = field.id + "-preview";
      p.overlay.after(p.preview);
      var described = (field.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
      if (described.indexOf(p.preview.id) === -1) {
        described.push(p.preview.id);
        field.setAttribute("aria-describedby", described.join(" "));
      }
    }
    copyBox(field, p.overlay);
    drawInto(p.overlay, field.value);
    var out = rendered(field.value);
    if (!p.preview) { return; }
    p.preview.textContent = out === null
      ? "Reads data from earlier steps; test them to preview the value."
      : "With the sample data: " + (out === "" ? "(empty)" : out);
  }

  function stepName(key) {
    var title = document.querySelector("#step-" + key + " .card-title");
    return title ? title.textContent.trim() : "";
  }

  function refreshAll(root) {
    learn(root);
    var scope = document.getElementById("panel");
    if (!scope) { return; }
    scope.querySelectorAll("input[type=text], input:not([type]), textarea, [data-pills]").forEach(refresh);
  }

  document.addEventListener("input", function (event) {
    var field = event.target;
    if (!eligible(field)) { return; }
    refresh(field);
    openOnBraces(field, event);
  });

  document.addEventListener("focusout", function (event) {
    if (eligible(event.target)) { refresh(event.target); }
  });

  /* A click on the drawn pills edits the text under them. */
  document.addEventListener("mousedown", function (event) {
    var overlay = event.target.closest && event.target.closest(".pill-overlay");
    if (!overlay) { return; }
    var field = document.getElementById(overlay.getAttribute("data-for"));
    if (!field) { return; }
    event.preventDefault();
    field.focus();
    field.setSelectionRange(field.value.length, field.value.length);
  });

  window.addEventListener("resize", function () { refreshAll(document); });

  /* -- `{{` opens the picker's search --------------------------------------------------- */

  var braces = null;  /* id of the field where `{{` was typed and the picker opened */

  function openOnBraces(field, event) {
    if (event.inputType && event.inputType.indexOf("insert") !== 0) { return; }
    var at = field.selectionStart;
    if (typeof at !== "number" || field.value.slice(at - 2, at) !== "{{") { return; }
    if (!field.id) { field.id = "pill-field-" + Math.random().toString(36).slice(2, 9); }
    var toggle = document.querySelector(".picker-toggle[data-picker-for='" + field.id + "']");
    if (toggle) {
      if (toggle.getAttribute("aria-expanded") !== "true") { toggle.click(); }
    } else if (!openBeside(field)) {
      return;
    }
    braces = field.id;
    focusSearch();
  }

  /* A field without its own "Insert data" button (a row of a list, say): open the picker
     under the field's row, aimed at the field, as editor.js does for a button. */
  function openBeside(field) {
    var picker = document.getElementById("picker");
    if (!picker) { return false; }
    /* after the whole field (a list's fieldset): a list holds only its rows */
    var holder = field.closest(".field") || field.closest("fieldset, div") || field.parentElement;
    if (!holder.contains(picker)) { holder.after(picker); }
    picker.setAttribute("data-target", field.id);
    picker.open = true;
    return true;
  }

  function searchBox() {
    var picker = document.getElementById("picker");
    if (!picker) { return null; }
    var box = picker.querySelector(".picker-search");
    if (box) { return box; }
    var body = picker.querySelector(".picker-body");
    if (!body) { return null; }
    var label = document.createElement("label");
    label.className = "visually-hidden";
    label.setAttribute("for", "picker-search");
    label.textContent = "Search the data";
    box = document.createElement("input");
    box.type = "search";
    box.id = "picker-search";
    box.className = "picker-search";
    box.placeholder = "Search fields…";
    box.autocomplete = "off";
    body.prepend(label, box);
    return box;
  }

  function focusSearch() {
    var box = searchBox();
    if (!box) { return; }
    box.value = "";
    filter("");
    box.focus();
  }

  function visibleItems() {
    var picker = document.getElementById("picker");
    return picker ? Array.prototype.filter.call(picker.querySelectorAll(".picker-item"), function (item) {
      return !item.closest("li").hidden;
    }) : [];
  }

  function filter(query) {
    var picker = document.getElementById("picker");
    if (!picker) { return; }
    var words = query.toLowerCase().split(/\s+/).filter(Boolean);
    picker.querySelectorAll(".picker-group").forEach(function (group) {
      var title = (group.querySelector(".picker-group-title") || {}).textContent || "";
      var shown = 0;
      group.querySelectorAll(".picker-item").forEach(function (item) {
        var text = (title + " " + item.textContent).toLowerCase();
        var match = words.every(function (word) { return text.indexOf(word) !== -1; });
        item.closest("li").hidden = !match;
        if (match) { shown += 1; }
      });
      group.hidden = words.length > 0 && shown === 0;
    });
  }

  document.addEventListener("input", function (event) {
    if (event.target.id === "picker-search") { filter(event.target.value); }
  });

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (target.id === "picker-search") {
      var items = visibleItems();
      if (event.key === "ArrowDown" && items.length) { event.preventDefault(); items[0].focus(); }
      if (event.key === "Enter") { event.preventDefault(); if (items.length) { items[0].click(); } }
      return;
    }
    if (target.classList && target.classList.contains("picker-item") && (event.key === "ArrowDown" || event.key === "ArrowUp")) {
      var list = visibleItems();
      var index = list.indexOf(target) + (event.key === "ArrowDown" ? 1 : -1);
      event.preventDefault();
      if (index < 0) { var box = searchBox(); if (box) { box.focus(); } } else if (list[index]) { list[index].focus(); }
    }
  });

  /* The picker's toggle (editor.js opens it and focuses the first field): start in the search. */
  document.addEventListener("click", function (event) {
    var toggle = event.target.closest && event.target.closest(".picker-toggle");
    if (toggle) {
      braces = null;
      if (toggle.getAttribute("aria-expanded") === "true") { focusSearch(); }
    }
  });

  /* Before editor.js inserts the chosen template (capture phase runs first): replace the `{{`
     that opened the picker, not only the cursor position. */
  document.addEventListener("click", function (event) {
    var item = event.target.closest && event.target.closest(".picker-item");
    if (!item || !braces) { return; }
    var field = document.getElementById(braces);
    braces = null;
    if (!field) { return; }
    var at = field.selectionStart;
    if (typeof at === "number" && field.value.slice(at - 2, at) === "{{") {
      field.setSelectionRange(at - 2, field.selectionEnd);
    }
  }, true);

  /* -- set up on load and after every swap ---------------------------------------------- */

  document.addEventListener("DOMContentLoaded", function () {
    refreshAll(document);
    if (window.htmx) { window.htmx.onLoad(function () { refreshAll(document); }); }
  });
})();
