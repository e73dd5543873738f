/* Regions that refresh themselves (`data-refreshes`: the editor's toolbar, its flow, Run now)
   get a GET of their own on the editor's events (hx-trigger "… from:body"). Such a refresh must
   never replace a newer answer: one that read the draft before a Save (or a move) and answered
   after it took the region's place, and the Save's own answer, aimed at the region it replaced,
   was lost ("Unsaved changes" after a done save). So:
   - a request aimed at the region aborts the region's refresh in flight: the event that refresh
     answers came before that request went, which therefore sees its change;
   - a refresh asked for while such a request is out waits for it to end, then goes: its event
     may tell of a change that request did not see. */
(function () {
  "use strict";

  var out = {};    /* region id -> the requests aimed at it (XMLHttpRequest), maybe still out */
  var later = {};  /* region id -> a refresh waits for them */

  function region(event) {
    var target = event.detail.target;
    return target && target.id && target.hasAttribute("data-refreshes") ? target : null;
  }

  /* Whether a request aimed at the region is still out: opened and sent, not yet done
     (loaded, failed, aborted: whatever events reach the page or not). */
  function pending(id) {
    out[id] = (out[id] || []).filter(function (xhr) { return xhr.readyState > 0 && xhr.readyState < 4; });
    return out[id].length > 0;
  }

  function refresh(id) {
    if (!later[id] || pending(id)) { return; }
    later[id] = false;
    var fresh = document.getElementById(id);  /* the answer's, when it swapped one in */
    if (fresh) {
      htmx.ajax("GET", fresh.getAttribute("hx-get"), { source: fresh, target: fresh, swap: "outerHTML" });
    }
  }

  document.body.addEventListener("htmx:beforeRequest", function (event) {
    var target = region(event);
    if (target && event.detail.elt === target && pending(target.id)) {
      later[target.id] = true;
      event.preventDefault();
    }
  });

  document.body.addEventListener("htmx:beforeSend", function (event) {
    var target = region(event);
    if (!target || event.detail.elt === target) { return; }
    var id = target.id;
    htmx.trigger(target, "htmx:abort");  /* its refresh, if one is out */
    out[id] = (out[id] || []).concat([event.detail.xhr]);
    /* loadend comes after htmx's own load handler, so after the answer is swapped in */
    event.detail.xhr.addEventListener("loadend", function () { refresh(id); });
  });
})();
