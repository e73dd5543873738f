/* Stepline's editor header and flow: keyboard shortcuts (Ctrl/⌘+S saves, Alt+Shift+A switches
   Active), Copy buttons, the palette's search, card menus that stay open across a swap, and
   focus that follows the panel (into it when a step opens, back to its card when it closes).
   An enhancement only: every control is a plain form or link without it. */
(function () {
  "use strict";

  function clickIfUsable(id) {
    var button = document.getElementById(id);
    if (!button || button.getAttribute("aria-disabled") === "true") { return false; }
    var form = button.form;
    if (form && form.requestSubmit) { form.requestSubmit(button); } else { button.click(); }
    return true;
  }

  /* -- shortcuts ----------------------------------------------------------------------- */

  document.addEventListener("keydown", function (event) {
    var key = (event.key || "").toLowerCase();
    if ((event.ctrlKey || event.metaKey) && !event.altKey && !event.shiftKey && key === "s") {
      if (!document.getElementById("save-workflow")) { return; }
      event.preventDefault();  /* not the browser's "Save page as" */
      clickIfUsable("save-workflow");
    } else if (event.altKey && event.shiftKey && !event.ctrlKey && !event.metaKey && key === "a") {
      if (!document.getElementById("active-switch")) { return; }
      event.preventDefault();
      clickIfUsable("active-switch");
    }
  });

  /* The header refreshes itself whenever the draft changes: a note being typed survives that
     (value and focus); a successful Save starts the next note empty. */
  var keptNote = null;

  document.body.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    if (!target || target.id !== "editor-toolbar") { return; }
    var note = document.getElementById("save-note");
    var from = event.detail.requestConfig && event.detail.requestConfig.elt;
    var saving = from && from.classList && from.classList.contains("save-form");
    keptNote = note && note.value && !saving
      ? { value: note.value, focused: document.activeElement === note }
      : null;
  });

  document.body.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (!keptNote || !target || target.id !== "editor-toolbar") { return; }
    var note = document.getElementById("save-note");
    if (note) {
      note.value = keptNote.value;
      if (keptNote.focused) { note.focus(); }
    }
    keptNote = null;
  });

  /* -- Copy buttons -------------------------------------------------------------------- */

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-copy]");
    if (!button) { return; }
    var field = document.getElementById(button.getAttribute("data-copy"));
    if (!field) { return; }
    var label = button.querySelector("span");
    var done = function () {
      if (label) {
        label.textContent = "Copied";
        window.setTimeout(function () { label.textContent = "Copy"; }, 1500);
      }
      var region = document.getElementById("announce");
      if (region) { region.textContent = "Copied to the clipboard."; }
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(done, function () {
        field.select(); document.execCommand("copy"); done();
      });
    } else {
      field.select();
      document.execCommand("copy");
      done();
    }
  });

  /* -- the palette's search ------------------------------------------------------------ */

  document.addEventListener("input", function (event) {
    if (event.target.id !== "palette-search") { return; }
    var words = event.target.value.toLowerCase().split(/\s+/).filter(Boolean);
    var shown = 0;
    document.querySelectorAll("#palette-groups .palette-group").forEach(function (group) {
      var inGroup = 0;
      group.querySelectorAll("li[data-search]").forEach(function (item) {
        var text = item.getAttribute("data-search");
        var match = words.every(function (word) { return text.indexOf(word) !== -1; });
        item.hidden = !match;
        if (match) { inGroup += 1; }
      });
      group.hidden = inGroup === 0;
      shown += inGroup;
    });
    var none = document.querySelector("#palette-groups .palette-none");
    if (none) { none.hidden = shown !== 0; }
    var count = document.getElementById("palette-count");
    if (count) { count.textContent = words.length ? shown + (shown === 1 ? " kind matches." : " kinds match.") : ""; }
  });

  /* -- menus: one open at a time, Escape closes, kept open across a swap of the flow ------ */

  var openMenu = null;

  document.addEventListener("toggle", function (event) {
    var menu = event.target;
    if (!menu.classList || !menu.classList.contains("menu") || !menu.open) { return; }
    document.querySelectorAll("details.menu[open]").forEach(function (other) {
      if (other !== menu) { other.open = false; }
    });
  }, true);

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    var menu = event.target.closest && event.target.closest("details.menu[open]");
    if (menu) {
      menu.open = false;
      menu.querySelector("summary").focus();
    }
  });

  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("details.menu")) { return; }
    document.querySelectorAll("details.menu[open]").forEach(function (menu) { menu.open = false; });
  });

  /* A swap of the flow (a move, or its refresh after one) keeps the open card menu open, so
     that focus can stay on the menu item that was used. */
  document.body.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    if (!elt.closest || !elt.closest("#flow")) { return; }
    var menu = document.querySelector("#flow details.card-menu[open]");
    openMenu = menu && menu.id ? menu.id : null;
  });

  document.body.addEventListener("htmx:afterSwap", function (event) {
    if (!openMenu || !event.detail.target || event.detail.target.id !== "flow") { return; }
    var menu = document.getElementById(openMenu);
    if (menu) { menu.open = true; }
  });

  /* History: the question Restore asks takes the focus when it appears. */
  document.body.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail.target;
    if (!target || !target.id || target.id.indexOf("restore-") !== 0) { return; }
    var title = target.querySelector(".restore-confirm h3");
    if (title) { title.focus(); }
  });

  /* -- focus follows the panel --------------------------------------------------------- */

  var opener = null;  /* what opened the panel: {card: id of its card} or {id: the link's id} */

  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("#flow a[hx-target='#panel']");
    if (!link) { return; }
    var card = link.closest(".card-title") && link.closest(".flow-step, #trigger-card");
    opener = card ? { card: card.id } : (link.id ? { id: link.id } : null);
  });

  function openerControl() {
    if (!opener) { return null; }
    if (opener.id) { return document.getElementById(opener.id); }
    var card = document.getElementById(opener.card);
    return card ? card.querySelector(".card-title a") : null;
  }

  document.body.addEventListener("htmx:afterSettle", function (event) {
    if (!event.detail.target || event.detail.target.id !== "panel") { return; }
    var panel = document.getElementById("panel");  /* the swapped-in one (outerHTML) */
    if (!panel) { return; }
    var from = event.detail.requestConfig && event.detail.requestConfig.elt;
    var kind = panel.getAttribute("data-panel");
    if (kind === "intro" && from && from.closest && from.closest(".panel-close")) {
      var back = openerControl();  /* closed: back to what opened it */
      if (back) { back.focus(); }
      return;
    }
    if (kind === "intro" || panel.contains(document.activeElement)) { return; }
    var active = document.activeElement;
    var lost = !active || active === document.body || !document.body.contains(active);
    if (lost || (from && from.closest && from.closest("#flow"))) {
      var search = kind === "add" ? panel.querySelector("#palette-search") : null;
      if (search && search.offsetParent !== null) { search.focus(); } else { panel.focus(); }
    }
  });

  /* The drawer (under 900 px): Escape closes it like its close button. */
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || window.innerWidth >= 900) { return; }
    var panel = document.getElementById("panel");
    if (!panel || !panel.contains(event.target) || panel.getAttribute("data-panel") === "intro") { return; }
    if (event.target.closest("#picker, details[open]")) { return; }
    var close = panel.querySelector(".panel-close");
    if (close) { close.click(); }
  });
})();
