// Progressive enhancement only: every page works without this file.
// It keeps a form from being sent twice by an impatient double click.
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement)) {
      return;
    }
    if (form.dataset.sent === "1") {
      event.preventDefault();
      return;
    }
    form.dataset.sent = "1";
    var button = form.querySelector("button[type=submit]");
    if (button) {
      button.setAttribute("aria-busy", "true");
    }
  });
  // A page restored from the back/forward cache must be usable again.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-sent]").forEach(function (form) {
      delete form.dataset.sent;
      var button = form.querySelector("button[aria-busy]");
      if (button) {
        button.removeAttribute("aria-busy");
      }
    });
  });
})();
