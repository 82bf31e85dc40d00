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
  // Values an admin copies into the IdP or DNS (code[data-copy]) get a
  // Copy button. Without script the value is still selected whole by one
  // click (user-select: all in the stylesheet).
  document.addEventListener("DOMContentLoaded", function () {
    var codes = document.querySelectorAll("code[data-copy]");
    if (!codes.length || !navigator.clipboard) {
      return;
    }
    var live = document.createElement("div");
    live.className = "visually-hidden";
    live.setAttribute("role", "status");
    document.body.appendChild(live);
    codes.forEach(function (code) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "btn btn-secondary copy-btn";
      button.textContent = "Copy";
      button.addEventListener("click", function () {
        navigator.clipboard.writeText(code.textContent).then(function () {
          button.textContent = "Copied";
          live.textContent = "Copied to the clipboard.";
          setTimeout(function () { button.textContent = "Copy"; live.textContent = ""; }, 2000);
        });
      });
      code.insertAdjacentElement("afterend", button);
    });
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
