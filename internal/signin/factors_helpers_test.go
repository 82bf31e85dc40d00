package signin_test

// Set-up through the real second factors, emergency mode and mail, as a
// person or an operator would: an authenticator app enrolled through
// *mfa.Service, passkeys registered with a software authenticator that
// signs real WebAuthn assertions, emergencies started through
// *emergency.Service, mail read back from the outbox.

import (
	"net/url"
	"regexp"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/mfa/mfatest"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/emergency"
	"github.com/gatehouse-id/gatehouse/internal/mail"
	"github.com/gatehouse-id/gatehouse/internal/mfa/softauthn"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// enrolTOTP turns an authenticator app on for acct, as the person would on
// /account, and returns its secret and the recovery codes shown once. The
// clock then moves past the confirming code, which counts as used.
func (e *env) enrolTOTP(acct storage.Account) (string, []string) {
	e.t.Helper()
	secret, codes := mfatest.EnrolTOTP(e.t, e.mfa, acct, e.clock.Now())
	e.clock.Advance(30 * time.Second)
	return secret, codes
}

// totpCode is the authenticator app's code for secret at the test clock.
func (e *env) totpCode(secret string) string {
	e.t.Helper()
	return mfatest.Code(e.t, secret, e.clock.Now())
}

// addPasskey registers a passkey for acct, as the person would on
// /account, on a new software authenticator, and returns the
// authenticator: it answers sign-in options with real signed assertions.
func (e *env) addPasskey(acct storage.Account) *softauthn.Authenticator {
	e.t.Helper()
	ctx := authz.AsAccount(e.ctx, acct)
	key := softauthn.New(rpOrigin)
	opts, ch, err := e.passkeys.BeginRegistration(ctx, acct, false)
	must(e.t, err)
	resp, err := key.Create(opts)
	must(e.t, err)
	_, err = e.passkeys.FinishRegistration(ctx, acct, ch, resp, "Laptop")
	must(e.t, err)
	return key
}

// startEmergency declares emergency mode for the whole organization for
// d, as an operator would with `gatehouse admin emergency start`.
func (e *env) startEmergency(reason string, d time.Duration) storage.Emergency {
	e.t.Helper()
	em, err := e.emergencies.Start(e.operator(), e.org, emergency.StartInput{Reason: reason, For: d})
	must(e.t, err)
	return em
}

// endEmergency ends em now, as an operator would.
func (e *env) endEmergency(em storage.Emergency) {
	e.t.Helper()
	_, err := e.emergencies.End(e.operator(), e.org, em.ID, emergency.EndInput{})
	must(e.t, err)
}

// mails waits for background sends and returns the outbox, oldest first.
func (e *env) mails() []mail.Message {
	e.t.Helper()
	e.accounts.Wait()
	msgs, err := mail.ReadOutbox(e.outbox)
	must(e.t, err)
	return msgs
}

var linkRE = regexp.MustCompile(`https?://\S+`)

// resetPassword sets acct's password to pw through the reset mail, as the
// person would: request, follow the link's token, choose the password.
func (e *env) resetPassword(acct storage.Account, pw string) {
	e.t.Helper()
	before := len(e.mails())
	must(e.t, e.accounts.RequestReset(e.ctx, acct.Email, "192.0.2.10"))
	msgs := e.mails()[before:]
	var token string
	for _, m := range msgs {
		if m.To != acct.Email {
			continue
		}
		if u, err := url.Parse(linkRE.FindString(m.Text)); err == nil && u.Query().Get("token") != "" {
			token = u.Query().Get("token")
		}
	}
	if token == "" {
		e.t.Fatalf("no reset link mailed to %s: %+v", acct.Email, msgs)
	}
	_, err := e.accounts.CompleteReset(e.ctx, token, pw)
	must(e.t, err)
}
