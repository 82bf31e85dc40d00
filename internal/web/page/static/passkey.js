// Passkeys (WebAuthn) in Gatehouse's pages. The Content-Security-Policy
// allows scripts from this site only, so this file is the whole browser
// side: it asks the server for options, hands them to the browser's
// passkey dialog with the byte fields decoded, and posts the answer back
// (JSON, with the page's CSRF token in the X-CSRF-Token header).
//
// Two functions are global, for pages to use:
//
//   gatehousePasskeyRegister(form)
//     Adds a passkey to the signed-in account. form carries data-options-url,
//     data-finish-url, the csrf_token field, a "name" field and an
//     "emergency" checkbox. Forms marked data-passkey-register are wired up
//     automatically.
//
//   gatehousePasskeyLogin(optionsURL, finishURL, form, options)
//     Signs in with a passkey. POSTs form's fields (except csrf_token) as a
//     JSON object to optionsURL, which answers {"challenge_id", "options"}
//     (options: {"publicKey": …} as go-webauthn makes them); calls
//     navigator.credentials.get (options.mediation, e.g. "optional" or
//     "conditional", is passed through); POSTs the fields again with
//     "challenge_id" and "credential" to finishURL, which answers
//     {"redirect": "/…"}; then goes there. Returns a Promise that rejects
//     with an Error whose message can be shown. Forms marked
//     data-passkey-login (with data-options-url and data-finish-url) are
//     wired up automatically.
//
// Errors are shown in the form's [role=alert] element.
(function () {
  "use strict";

  function fromB64url(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) {
      s += "=";
    }
    var bin = atob(s);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) {
      out[i] = bin.charCodeAt(i);
    }
    return out.buffer;
  }

  function toB64url(buf) {
    if (!buf) {
      return undefined;
    }
    var bytes = new Uint8Array(buf);
    var bin = "";
    for (var i = 0; i < bytes.length; i++) {
      bin += String.fromCharCode(bytes[i]);
    }
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function decodeDescriptors(list) {
    (list || []).forEach(function (c) { c.id = fromB64url(c.id); });
  }

  // The answer as go-webauthn reads it (the WebAuthn JSON encoding).
  function credentialJSON(cred) {
    var r = cred.response;
    var response = { clientDataJSON: toB64url(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = toB64url(r.attestationObject);
      if (typeof r.getTransports === "function") {
        response.transports = r.getTransports();
      }
    } else {
      response.authenticatorData = toB64url(r.authenticatorData);
      response.signature = toB64url(r.signature);
      if (r.userHandle && r.userHandle.byteLength) {
        response.userHandle = toB64url(r.userHandle);
      }
    }
    return {
      id: cred.id,
      rawId: toB64url(cred.rawId),
      type: cred.type,
      authenticatorAttachment: cred.authenticatorAttachment || undefined,
      clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
      response: response
    };
  }

  function csrfToken(form) {
    var input = form && form.querySelector("input[name=csrf_token]");
    return input ? input.value : "";
  }

  function postJSON(url, body, token) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": token },
      body: JSON.stringify(body)
    }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (data) {
        if (!res.ok) {
          throw new Error((data.error && data.error.message) ||
            "Something went wrong. Reload the page and try again.");
        }
        return data;
      });
    });
  }

  // dialogError turns the browser's refusals into sentences.
  function dialogError(err) {
    if (err && err.name === "NotAllowedError") {
      return new Error("The passkey dialog was closed or timed out, so nothing was changed. Try again when you're ready.");
    }
    if (err && err.name === "InvalidStateError") {
      return new Error("This device or security key already holds a passkey for your account.");
    }
    if (err && err.name === "SecurityError") {
      return new Error("This browser refused passkeys for this address. Passkeys need Gatehouse on a domain name.");
    }
    return err instanceof Error ? err : new Error(String(err));
  }

  function supported() {
    return !!(window.PublicKeyCredential && navigator.credentials);
  }

  function formFields(form) {
    var out = {};
    if (!form) {
      return out;
    }
    new FormData(form).forEach(function (value, key) {
      if (key !== "csrf_token" && typeof value === "string") {
        out[key] = value;
      }
    });
    return out;
  }

  function gatehousePasskeyRegister(form) {
    if (!supported()) {
      return Promise.reject(new Error("This browser cannot use passkeys."));
    }
    var token = csrfToken(form);
    var nameInput = form.querySelector("[name=name]");
    var emergencyInput = form.querySelector("[name=emergency]");
    var emergency = !!(emergencyInput && emergencyInput.checked);
    return postJSON(form.dataset.optionsUrl, { emergency: emergency }, token).then(function (begun) {
      var pk = begun.options.publicKey;
      pk.challenge = fromB64url(pk.challenge);
      pk.user.id = fromB64url(pk.user.id);
      decodeDescriptors(pk.excludeCredentials);
      return navigator.credentials.create({ publicKey: pk }).catch(function (err) {
        throw dialogError(err);
      }).then(function (cred) {
        return postJSON(form.dataset.finishUrl, {
          challenge_id: begun.challenge_id,
          name: nameInput ? nameInput.value : "",
          emergency: emergency,
          credential: credentialJSON(cred)
        }, token);
      });
    }).then(function (done) {
      window.location.assign(done.redirect || window.location.href);
      return done;
    });
  }

  function gatehousePasskeyLogin(optionsURL, finishURL, form, options) {
    if (!supported()) {
      return Promise.reject(new Error("This browser cannot use passkeys."));
    }
    var token = csrfToken(form);
    var fields = formFields(form);
    return postJSON(optionsURL, fields, token).then(function (begun) {
      var pk = begun.options.publicKey;
      pk.challenge = fromB64url(pk.challenge);
      decodeDescriptors(pk.allowCredentials);
      var req = { publicKey: pk };
      if (options && options.mediation) {
        req.mediation = options.mediation;
      }
      return navigator.credentials.get(req).catch(function (err) {
        throw dialogError(err);
      }).then(function (cred) {
        var body = Object.assign({}, fields, { challenge_id: begun.challenge_id, credential: credentialJSON(cred) });
        return postJSON(finishURL, body, token);
      });
    }).then(function (done) {
      if (done.redirect) {
        window.location.assign(done.redirect);
      }
      return done;
    });
  }

  window.gatehousePasskeyRegister = gatehousePasskeyRegister;
  window.gatehousePasskeyLogin = gatehousePasskeyLogin;

  // wire runs fn on submit and shows its failure in the form's alert.
  function wire(form, fn) {
    var alert = form.querySelector("[role=alert]");
    var button = form.querySelector("button[type=submit]");
    if (!supported()) {
      if (alert) {
        alert.textContent = "This browser cannot use passkeys.";
        alert.hidden = false;
      }
      if (button) {
        button.disabled = true;
      }
      return;
    }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (form.dataset.passkeyBusy === "1") {
        return;
      }
      form.dataset.passkeyBusy = "1";
      if (alert) {
        alert.hidden = true;
        alert.textContent = "";
      }
      fn(form).catch(function (err) {
        // app.js marked the form sent; let it be sent again.
        delete form.dataset.passkeyBusy;
        delete form.dataset.sent;
        if (button) {
          button.removeAttribute("aria-busy");
        }
        if (alert) {
          alert.textContent = err.message;
          alert.hidden = false;
        }
      });
    });
  }

  document.querySelectorAll("form[data-passkey-register]").forEach(function (form) {
    wire(form, gatehousePasskeyRegister);
  });
  document.querySelectorAll("form[data-passkey-login]").forEach(function (form) {
    wire(form, function (f) {
      return gatehousePasskeyLogin(f.dataset.optionsUrl, f.dataset.finishUrl, f, { mediation: f.dataset.mediation });
    });
  });
})();
