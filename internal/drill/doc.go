// Package drill holds Gatehouse's outage drill: one end-to-end test that
// runs the whole assembled server (internal/app.OpenWith and
// internal/server.Handler, the wiring `gatehouse serve` uses) against the
// development IdP in-process, then stops the IdP and checks what people
// would notice, on SQLite and PostgreSQL.
//
// What it proves (issue 7, "an outage drill"):
//
//   - Sessions survive an IdP outage: nothing on the session path contacts
//     the IdP. A counter on the IdP's handler shows that validating
//     sessions makes no request to it while it is up, and the same
//     sessions keep working after it has stopped, also after time passes
//     within the idle timeout.
//   - A new SSO sign-in during the outage fails at the IdP (the browser
//     cannot connect), and Gatehouse still notices: the started sign-in is
//     counted as abandoned when its request expires (10 minutes),
//     Prometheus says so, the health probe opens an incident, the console
//     and the public status page show it, and admins are mailed.
//   - A break-glass owner (a policy with SSO off) signs in with a password
//     the whole time.
//   - When the IdP returns, SSO sign-ins work again and the incident ends,
//     with a mail to the admins.
//
// The package has no non-test code: the drill lives in drill_test.go as an
// ordered list of steps (see steps there, and the marked places where
// emergency mode, MFA and passkey steps are added), and the harness it
// runs on in harness_test.go and browser_test.go. Background loops that
// serve runs on a one-minute ticker (health, SSO purge) are driven by hand
// with the drill's clock instead, so no step waits on real time.
package drill
