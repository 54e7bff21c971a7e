// Live-widget helpers (no inline script: CSP script-src 'self').
// - Keeps every <time data-age> reading "4m 10s ago" current, so a widget the server
//   answered 204 ("nothing changed") never shows a frozen age.
// - Shows when each widget was last confirmed current, and raises a plain banner when live
//   updates fail, so stale data is never mistaken for fresh data.
(function () {
  var STALE_AFTER_MS = 45000;
  var lastOk = Date.now();

  function fmt(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    var d = Math.floor(seconds / 86400), h = Math.floor(seconds % 86400 / 3600);
    var m = Math.floor(seconds % 3600 / 60), s = seconds % 60;
    if (d) return d + "d " + h + "h";
    if (h) return h + "h " + m + "m";
    if (m) return m + "m " + s + "s";
    return s + "s";
  }

  function refreshAges() {
    var now = Date.now();
    document.querySelectorAll("time[data-age]").forEach(function (el) {
      var at = Date.parse(el.getAttribute("datetime"));
      if (!isNaN(at)) el.textContent = fmt((now - at) / 1000) + " ago";
    });
  }

  function clock(date) {
    return date.toTimeString().slice(0, 8);
  }

  function banner() {
    var el = document.getElementById("live-status");
    if (!el) return;
    var failing = Date.now() - lastOk > STALE_AFTER_MS;
    el.hidden = !failing;
    if (failing) {
      el.textContent = "Live updates failing since " + clock(new Date(lastOk)) +
        ": the data below may be out of date.";
    }
    document.body.classList.toggle("live-failing", failing);
  }

  document.addEventListener("htmx:afterRequest", function (event) {
    var elt = event.detail.elt;
    if (!elt || !elt.hasAttribute || !elt.hasAttribute("data-live")) return;
    var xhr = event.detail.xhr;
    if (event.detail.successful || (xhr && xhr.status === 204)) {
      lastOk = Date.now();
      var target = document.getElementById(elt.id) || elt;
      target.classList.remove("widget-stale");
      target.querySelectorAll("[data-checked]").forEach(function (c) {
        c.textContent = ", checked " + clock(new Date());
      });
    } else {
      elt.classList.add("widget-stale");
    }
    banner();
  });
  document.addEventListener("htmx:sendError", function (event) {
    if (event.detail.elt && event.detail.elt.classList) {
      event.detail.elt.classList.add("widget-stale");
    }
    banner();
  });

  setInterval(function () { refreshAges(); banner(); }, 5000);
})();
