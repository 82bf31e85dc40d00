// "Use your passkey" on the sign-in pages (progressive enhancement: the
// form stays hidden where the browser cannot use passkeys). It asks the
// flow's options endpoint for WebAuthn request options, lets the browser
// sign the challenge (navigator.credentials.get), and posts the assertion
// with the form, which the server checks.
(function () {
  "use strict";
  function b64urlToBytes(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) { s += "="; }
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) { out[i] = bin.charCodeAt(i); }
    return out.buffer;
  }
  function bytesToB64url(buf) {
    var bytes = new Uint8Array(buf), bin = "";
    for (var i = 0; i < bytes.length; i++) { bin += String.fromCharCode(bytes[i]); }
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("passkey-form");
    if (!form || !window.PublicKeyCredential || !navigator.credentials) { return; }
    form.hidden = false;
    var divider = document.getElementById("passkey-divider");
    if (divider) { divider.hidden = false; }
    var status = document.getElementById("passkey-status");
    var button = form.querySelector("button[type=submit]");
    var say = function (text) { if (status) { status.textContent = text; } };
    form.addEventListener("submit", function (event) {
      if (form.elements.assertion.value) { return; } // the signed post itself
      event.preventDefault();
      event.stopImmediatePropagation();
      button.disabled = true;
      say("Follow your browser's prompt to use your passkey.");
      var body = new URLSearchParams(new FormData(form));
      fetch(form.dataset.options, { method: "POST", body: body, credentials: "same-origin" })
        .then(function (r) {
          if (!r.ok) { throw new Error("options"); }
          return r.json();
        })
        .then(function (res) {
          var pk = res.options.publicKey || res.options;
          pk.challenge = b64urlToBytes(pk.challenge);
          (pk.allowCredentials || []).forEach(function (c) { c.id = b64urlToBytes(c.id); });
          return navigator.credentials.get({ publicKey: pk }).then(function (cred) {
            var r = cred.response;
            form.elements.challenge.value = res.challenge;
            form.elements.assertion.value = JSON.stringify({
              id: cred.id, rawId: bytesToB64url(cred.rawId), type: cred.type,
              response: {
                authenticatorData: bytesToB64url(r.authenticatorData),
                clientDataJSON: bytesToB64url(r.clientDataJSON),
                signature: bytesToB64url(r.signature),
                userHandle: r.userHandle ? bytesToB64url(r.userHandle) : null
              }
            });
            form.submit();
          });
        })
        .catch(function () {
          button.disabled = false;
          say("The passkey didn't sign you in. Try again, or use another way below.");
        });
    }, true);
  });
})();
