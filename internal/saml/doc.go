// Package saml is the strict core of Gatehouse's SAML 2.0 service provider:
// it validates the Response an IdP posts to the Assertion Consumer Service
// (HTTP-POST binding) and returns who signed in. It is a pure library: no
// storage, no HTTP, no clock of its own, no global state.
//
// # Using it
//
//	v := &saml.Validator{Now: clock.Now}           // zero MaxSkew/MaxBodyBytes = 3m / 256 KiB
//	idp := saml.IdP{EntityID: conn.IdPEntityID, Certificates: conn.SigningCerts, AllowIdPInitiated: conn.AllowIdPInitiated}
//	sp := saml.SP{EntityID: conn.SPEntityID, ACSURL: conn.ACSURL, DecryptionKey: conn.DecryptionKey}
//	a, err := v.Validate(idp, sp, r.PostForm.Get("SAMLResponse"), pendingRequestID)
//	if err != nil {
//		log.Warn("saml response rejected", "reason", saml.ReasonOf(err), "err", err)
//		// show one generic page; see "What never to show" below
//	}
//
// Every rejection is an *Error with a stable Reason (the Reason* constants,
// snake_case, safe for metrics labels and the SSO health monitor) and a
// Detail for logs and the admin's test-login page. errors.As works, and
// errors.Is(err, &saml.Error{Reason: saml.ReasonExpired}) matches on the
// reason alone.
//
// # What Validate checks
//
//  1. The form value is at most MaxBodyBytes before and after base64
//     (standard alphabet; whitespace and line breaks are ignored).
//  2. Every XML token is read once before any tree is built: any DTD
//     construct (DOCTYPE, ENTITY — billion laughs, XXE) is refused
//     (doctype_forbidden); so are processing instructions other than the
//     XML declaration, duplicate attributes, non-QName names, several
//     roots, nesting over 48 levels or 48 namespaces in scope (malformed),
//     and tokens that change when encoding/xml re-encodes them
//     (xml_roundtrip_failed, the mattermost/xml-roundtrip-validator check,
//     reimplemented because crewjam's copy is internal).
//  3. The root is samlp:Response, Version 2.0, top-level StatusCode Success
//     (else status_not_success, with the IdP's codes and message in Detail).
//  4. Exactly one element named Assertion or EncryptedAssertion exists in
//     the whole document, at any depth and in any namespace
//     (multiple_assertions), and it is a direct child of the Response. No two
//     elements share an ID, and no ID attribute is namespace-qualified
//     (signature_wrapping). ds:Signature elements may only be direct
//     children of the Response or of that Assertion.
//  5. Each signature: one Reference whose URI is "#" + the ID of the element
//     the Signature sits in; transforms exactly enveloped + exc-c14n;
//     exclusive c14n without comments; RSA or ECDSA with SHA-256/384/512 and
//     a SHA-256/384/512 digest. SHA-1 anywhere is weak_signature_algorithm
//     unless IdP.AllowSHA1 (warning "sha1_signature"); anything else
//     unknown is refused too. ds:Object or other extra children:
//     signature_wrapping.
//  6. The signature is verified by goxmldsig with one trusted certificate at
//     a time (IdP.Certificates; several during a rollover). KeyInfo is
//     removed before verification and never trusted; it only orders the
//     attempts, and when nothing trusted verifies but the KeyInfo
//     certificate does, the reason is untrusted_certificate (Detail has its
//     SHA-256 fingerprint) rather than signature_invalid. The certificate
//     that verified must be within its dates (certificate_expired, or
//     warning "expired_certificate_allowed" with AllowExpiredCertificates).
//  7. From then on the Response and Assertion are read only from what
//     goxmldsig returns: the signed element re-parsed from the canonical
//     bytes that were digested. If the Response is signed, the Assertion is
//     taken from the verified Response (and its own signature, if any, is
//     verified there too). This is the core defence against signature
//     wrapping: content outside the signature is never read.
//  8. EncryptedAssertion is decrypted with SP.DecryptionKey (crewjam's
//     xmlenc: RSA-OAEP key transport, AES-CBC/GCM; RSA PKCS#1 v1.5 is
//     refused; at most 3 EncryptedKeys are tried, each being an RSA
//     private-key operation on attacker input), then run through the same
//     token, structure and signature checks. Either the Response or the decrypted Assertion must be signed.
//  9. Issuer of the Assertion (and of the Response, if present) equals
//     IdP.EntityID; every AudienceRestriction lists SP.EntityID; Destination,
//     if present, equals SP.ACSURL; one bearer SubjectConfirmation has
//     Recipient == SP.ACSURL, a NotOnOrAfter, and InResponseTo as below.
//  10. Times, with MaxSkew (default and maximum 3 minutes) in the accepting
//     direction: NotBefore <= now+skew and now-skew < NotOnOrAfter for
//     Conditions and SubjectConfirmationData, IssueInstant <= now+skew, and
//     SessionNotOnOrAfter if present. Entra sets NotBefore == IssueInstant,
//     so a node running 2 minutes behind still accepts.
//  11. InResponseTo: with an expectedRequestID, the Response's and the
//     SubjectConfirmationData's must both equal it. With "" (unsolicited),
//     the connection must allow IdP-initiated login (else
//     unsolicited_not_allowed) and neither may carry one.
//  12. NameID is the full text of the verified element: comments are gone
//     after canonicalization and every text node is joined, so
//     "admin@corp.example<!-- -->.evil.example" yields
//     "admin@corp.example.evil.example", never "admin@corp.example".
//     No Subject / NameID, or an empty one: missing_subject.
//
// # What the caller must do
//
// Replay. Validate keeps no state. Before creating a session, the ACS
// handler must insert (IdP.EntityID, Assertion.ID) into the replay cache
// shared by all nodes, atomically ("insert if absent", e.g. a unique key),
// and reject the login if it was already there. Keep the entry until
// Assertion.NotOnOrAfter, which already includes the skew: after that
// instant no node would accept the assertion anyway.
//
// InResponseTo. For SP-initiated login the handler stores the AuthnRequest
// ID server-side when it sends the request (bound to the browser, e.g. via
// RelayState or a cookie naming the record), looks it up when the response
// arrives, passes it as expectedRequestID, and deletes it on first use, so a
// request ID answers at most one response. Pass "" only when no request is
// pending for this browser; Validate then applies IdP.AllowIdPInitiated.
// A browser with no pending request that posts a solicited response gets
// in_response_to_mismatch.
//
// Identity. Validate proves what the IdP asserted, not that it may assert
// it: mapping NameID/attributes to an account, and refusing emails outside
// the connection's organization's verified domains, belong to the caller.
//
// Size. Validate's limit applies to the form value; the HTTP handler must
// also bound the request body (http.MaxBytesReader) before ParseForm.
//
// What never to show. Reason and Detail go to logs, metrics and the admin's
// SSO test page, not to an anonymous browser: Detail quotes attacker input,
// and with AES-CBC (which Entra uses) telling encrypted_assertion_undecryptable
// apart from signature_invalid is the oracle of the Jager–Somorovsky attack
// on XML Encryption. Show every failing user the same page.
//
// # Decisions the integrator should know
//
//   - Destination absent on a signed Response is accepted, although the
//     bindings spec says a signed Response MUST carry it: the signed
//     Assertion's Recipient, which is always required, binds the message to
//     our ACS URL just as well. A present Destination must match exactly.
//   - URLs and entity IDs are compared byte for byte: configure them exactly
//     as in the metadata exchanged with the IdP.
//   - The one-assertion rule has no exceptions: an Assertion inside Advice
//     (legal but unused by Entra, Okta and ADFS) is rejected too.
//   - A Conditions child other than AudienceRestriction, OneTimeUse and
//     ProxyRestriction is refused (malformed): the assertion would be
//     Indeterminate. OneTimeUse needs nothing extra: every assertion is
//     one-time through the replay cache.
//   - An AuthnStatement is required (Web SSO profile); the first one gives
//     AuthnInstant and SessionIndex.
//   - Not supported, hence refused or ignored: EncryptedID (missing_subject),
//     EncryptedAttribute (ignored), complex AttributeValues (their text is
//     taken), inclusive or WithComments canonicalization, detached or
//     XPath-selected signatures, and namespace prefixes that an encrypted
//     Assertion inherits from outside the ciphertext (the plaintext must be
//     a self-contained element, as Entra, Okta and ADFS produce).
//   - IdP.Certificates is the trust anchor; chains, CRLs and OCSP are not
//     consulted (SAML metadata trust is by pinned certificate).
//   - RSA signing keys under 2048 bits are refused
//     (weak_signature_algorithm) whatever the connection allows.
//   - ECDSA signature methods pass the algorithm policy, but goxmldsig
//     v1.6.1 verifies only DER-encoded ECDSA values, not the r||s form of
//     RFC 4051, so such signatures currently fail as signature_invalid. No
//     IdP we target signs with ECDSA.
//
// # Tests and tools
//
// Package samltest is a test IdP (keys, Entra/Okta/ADFS-shaped Responses,
// signing, encryption) for tests and the development IdP. Golden responses
// and fixed keys live in testdata; regenerate them with
//
//	go test -run 'TestGenerateGolden|TestGenerateFuzzCorpus' -update ./internal/saml/
//
// and fuzz with
//
//	go test -run x -fuzz FuzzValidate -fuzztime 60s ./internal/saml/
package saml
