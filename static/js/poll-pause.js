// Live widgets poll with hx-trigger="every Ns". Skip those requests while the tab is hidden
// (trigger filters would need eval, which our CSP forbids), and refresh every live widget
// once when the tab becomes visible again, so a returning user sees fresh data at once.
(function () {
  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    if (document.hidden && elt && elt.hasAttribute("data-live")) {
      event.preventDefault();
    }
  });
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && window.htmx) {
      document.querySelectorAll("[data-live]").forEach(function (elt) {
        window.htmx.trigger(elt, "nyiops:refresh");
      });
    }
  });
  // A partial answered 403/401 means the session ended: reload so the login page shows.
  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr && event.detail.xhr.status;
    if (status === 401 || status === 403) {
      window.location.reload();
    }
  });
})();
