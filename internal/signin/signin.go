// Package signin is the sign-in engine: every way into Gatehouse is one
// stored login flow that steps move forward, and every outcome is decided,
// counted and logged here, not in the pages that show it.
//
//	identify (email) → decide (policy.Route) → first factor (password, SSO
//	through the IdP, or a passkey that counts as both) → second factor when
//	the decision says MFA (TOTP, a recovery code or a passkey; enrolment
//	right there when none is enrolled) → issue the session → return to
//	where the person was going
//
// A flow (storage.LoginFlow) has a random ID, is bound to the browser that
// started it (a secret in a cookie, only its hash stored), expires after
// FlowTTL and is spent when it issues a session. The sign-in pages are thin
// callers: Identify, Password, BeginSSO and CompleteSSO, each answering the
// next step or an Outcome. The engine knows nothing of HTTP.
//
// Rules that fail closed: New refuses missing wiring (there is no "no
// policy service, so password" fallback); a first factor the account's
// policy does not allow is answered exactly like a wrong password, after
// the same work; a flow used out of order, from another browser, after it
// expired or a second time is refused and changes nothing.
package signin

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/errs"
	"github.com/gatehouse-id/gatehouse/internal/metrics"
	"github.com/gatehouse-id/gatehouse/internal/notify"
	"github.com/gatehouse-id/gatehouse/internal/policy"
	"github.com/gatehouse-id/gatehouse/internal/ratelimit"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/sso"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// FlowTTL is how long a sign-in may take from the email to the session;
// starting SSO gives the flow FlowTTL again from then, so the IdP round
// trip has as long as its AuthnRequest.
const FlowTTL = 10 * time.Minute

// Steps of a flow (storage.LoginFlow.Step).
const (
	StepPassword      = "password"      // the password form (with the SSO button on a choice page)
	StepSSO           = "sso"           // the browser was sent to the IdP
	StepMFA           = "mfa"           // first factor done; a second is asked for
	StepMFAEnrol      = "mfa_enrol"     // first factor done; MFA required and none enrolled: enrol TOTP now
	StepAuthenticated = "authenticated" // every required factor is done
	StepDone          = "done"          // a session was issued; the flow is spent

	// stepChecking: a password submitted to the flow is being checked.
	stepChecking = "checking"
)

// Authentication methods a session records (RFC 8176 amr values where one
// exists).
const (
	AMRPassword = session.MethodPassword
	AMRSSO      = session.MethodSSO
	AMROTP      = session.MethodOTP       // a TOTP code or a recovery code
	AMRPasskey  = session.MethodHardware  // a passkey (user verification required)
	AMREmerg    = session.MethodEmergency // appended to every sign-in made under an emergency
)

// Deps is what the engine needs. Every field but Log and Now is required.
type Deps struct {
	Store    storage.Store
	Accounts *account.Service
	Policies *policy.Service
	Sessions *session.Service
	SSO      *sso.Service
	Metrics  *metrics.Metrics
	// TOTP verifies second factors (the MFA service). Required.
	TOTP TOTP
	// EnrolTOTP and ConfirmTOTP enrol TOTP at sign-in when the policy
	// requires MFA and the account has none (the MFA service's BeginTOTP
	// and ConfirmTOTP). Required.
	EnrolTOTP   func(ctx context.Context, acct storage.Account) (secret, uri string, qrPNG []byte, err error)
	ConfirmTOTP func(ctx context.Context, acct storage.Account, code string) (recoveryCodes []string, err error)
	// Passkeys and FinishPasskey sign in with a passkey (the MFA service's
	// Passkeys.BeginLogin/Count and FinishLogin). Optional together: without
	// them no passkey is offered.
	Passkeys      Passkeys
	FinishPasskey func(ctx context.Context, challengeID string, response []byte) (accountID string, err error)
	// Notify mails the other admins of a break-glass sign-in. Required.
	Notify *notify.Admins
	Log    *slog.Logger
	Now    func() time.Time
}

// TOTP is what the engine asks of the TOTP verifier. VerifyTOTP refuses a
// code already used within its window; both verifiers throttle.
type TOTP interface {
	TOTPEnrolled(ctx context.Context, accountID string) (bool, error)
	VerifyTOTP(ctx context.Context, accountID, code string) error
	UseRecoveryCode(ctx context.Context, accountID, code string) error
}

// Passkeys is what the engine asks of the WebAuthn service. BeginLogin
// with accountID "" asks for a discoverable credential.
type Passkeys interface {
	Count(ctx context.Context, accountID string) (total, emergency int, err error)
	BeginLogin(ctx context.Context, accountID string) (optionsJSON []byte, challengeID string, err error)
}

// Engine runs sign-ins.
type Engine struct {
	store    storage.Store
	accounts *account.Service
	policies *policy.Service
	sessions *session.Service
	sso      *sso.Service
	metrics  *metrics.Metrics
	totp     TOTP
	enrol    func(ctx context.Context, acct storage.Account) (string, string, []byte, error)
	confirm  func(ctx context.Context, acct storage.Account, code string) ([]string, error)
	passkeys Passkeys
	finishPK func(ctx context.Context, challengeID string, response []byte) (string, error)
	notify   *notify.Admins
	limiter  *ratelimit.Limiter
	log      *slog.Logger
	now      func() time.Time
}

// Per-address budgets. Every email step stores a flow and every refused
// step of an existing flow writes an audit event, so an anonymous client
// must do neither without bound. Generous, because a whole office may sign
// in from one address at nine in the morning.
var (
	flowStartLimit   = ratelimit.Rule{Name: "signin_flow", Max: 600, Window: 5 * time.Minute}
	flowRefusedLimit = ratelimit.Rule{Name: "signin_flow_refused", Max: 50, Window: 15 * time.Minute}
	// refusalAuditLimit bounds the audited refusals of passkeys and of
	// failback ways in that one address can cause.
	refusalAuditLimit = ratelimit.Rule{Name: "signin_refusal_audit", Max: 50, Window: 15 * time.Minute}
)

// New returns an Engine, or an error naming every missing dependency: a
// server without its policy or SSO wiring must not start and quietly let
// everyone in with a password.
func New(d Deps) (*Engine, error) {
	var missing []string
	for name, ok := range map[string]bool{
		"Store": d.Store != nil, "Accounts": d.Accounts != nil, "Policies": d.Policies != nil,
		"Sessions": d.Sessions != nil, "SSO": d.SSO != nil, "Metrics": d.Metrics != nil,
		"TOTP": d.TOTP != nil, "EnrolTOTP": d.EnrolTOTP != nil, "ConfirmTOTP": d.ConfirmTOTP != nil,
		"Notify": d.Notify != nil,
		// Half a passkey wiring would offer a button that can never work.
		"Passkeys and FinishPasskey together": (d.Passkeys == nil) == (d.FinishPasskey == nil),
	} {
		if !ok {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return nil, fmt.Errorf("signin: missing wiring: %s", strings.Join(missing, ", "))
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Engine{store: d.Store, accounts: d.Accounts, policies: d.Policies, sessions: d.Sessions,
		sso: d.SSO, metrics: d.Metrics, totp: d.TOTP, enrol: d.EnrolTOTP, confirm: d.ConfirmTOTP,
		passkeys: d.Passkeys, finishPK: d.FinishPasskey, notify: d.Notify,
		limiter: ratelimit.New(d.Store, d.Now), log: d.Log, now: d.Now}, nil
}

func (e *Engine) clock() time.Time { return storage.Truncate(e.now()) }

// Client is who is asking: the browser's flow secret (its cookie, "" if
// none), its address and User-Agent, and the session token it already
// holds (ended when a new session is issued, so a cookie planted before
// sign-in never becomes an authenticated one).
type Client struct {
	Browser   string
	IP        string
	UserAgent string
	Session   string
}

// Step is where a flow stands after Identify: what the page shows next.
type Step struct {
	FlowID string
	// Browser is the secret the browser must hold from now on (the cookie
	// value): the one it sent, or a new one.
	Browser string
	Step    string // StepPassword or StepSSO
	Email   string
	// Page is the public decision for the email: MethodSSO sends the
	// browser on to BeginSSO, MethodChoice shows the password form with
	// the SSO button, MethodPassword the form alone. Every address of a
	// domain gets the same Page.
	Page policy.Decision
	// OrgID is the organization that verified the email's domain, "" if
	// none did (public: it is in DNS).
	OrgID string
	// EmergencyUntil: on the emergency page (Page.Method MethodEmergency),
	// when the organization's emergency ends, if known.
	EmergencyUntil time.Time
	// Passkeys: passkey sign-in is available in this deployment.
	Passkeys bool
}

// Outcome is a finished sign-in.
type Outcome struct {
	Account   storage.Account
	Token     string // the new session's cookie value
	ExpiresAt time.Time
	ReturnTo  string // as the flow stored it; the edge validates it again
	Methods   []string
	// Device is a device cookie value to set after a password sign-in
	// ("" to leave it).
	Device string
	// Test is set for an admin's test sign-in through a connection: no
	// session was issued, Token is empty.
	Test *sso.Result
	// Pending is StepMFA or StepMFAEnrol when the first factor succeeded
	// and a second is needed: no session was issued yet, and FlowID names
	// the flow that continues.
	Pending string
	FlowID  string
	// EmergencyID is the emergency the sign-in was made under, "" if none.
	EmergencyID string
}

// ErrNoSSO: BeginSSO was asked for a flow whose email no SSO connection
// can sign in.
var ErrNoSSO error = errs.New(errs.PreconditionFailed, "no_sso", "signin: no single sign-on for this address")

// FlowError refuses a flow that cannot take the step asked of it. Reason is
// for logs and the audit log; the person is sent back to the start.
type FlowError struct {
	Reason string // FlowUnknown, FlowExpired, FlowUsed, FlowOtherBrowser, FlowOutOfOrder, FlowInProgress
}

// Reasons for a FlowError.
const (
	FlowUnknown      = "flow_unknown"
	FlowExpired      = "flow_expired"
	FlowUsed         = "flow_used"
	FlowOtherBrowser = "flow_other_browser"
	FlowOutOfOrder   = "flow_out_of_order"
	FlowInProgress   = "flow_in_progress" // another submit of the same step is being checked
)

// Kind reports PreconditionFailed: the flow is not at a step that allows this.
func (e *FlowError) Kind() errs.Kind { return errs.PreconditionFailed }

// Code returns the Reason.
func (e *FlowError) Code() string { return e.Reason }

func (e *FlowError) Error() string { return "signin: sign-in cannot continue: " + e.Reason }

// newSecret returns 32 random bytes as unpadded base64url.
func newSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand panics instead)
	return base64.RawURLEncoding.EncodeToString(b)
}

// wellFormed reports whether s looks like newSecret's output.
func wellFormed(s string) bool {
	b, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil && len(b) == 32
}

func hashSecret(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// Identify starts a flow for the typed email: it decides how the address
// signs in and stores the flow. choosePassword is the person's explicit
// "use a password instead" (how a break-glass admin reaches the password
// form in a domain where SSO is enforced for everyone else). An address
// that is not one is an *account.InvalidInputError, and nothing is stored;
// a client address that started too many flows gets *account.ThrottledError.
func (e *Engine) Identify(ctx context.Context, c Client, email, returnTo string, choosePassword bool) (Step, error) {
	r, err := e.policies.Route(ctx, email)
	if err != nil {
		return Step{}, err
	}
	if ok, wait, err := e.limiter.Allow(ctx, flowStartLimit, c.IP); err != nil {
		return Step{}, fmt.Errorf("signin: identify: %w", err)
	} else if !ok {
		e.metrics.SignIn("flow", resultThrottled)
		return Step{}, &account.ThrottledError{RetryAfter: wait}
	}
	browser := c.Browser
	if !wellFormed(browser) {
		browser = newSecret()
	}
	now := e.clock()
	f := storage.LoginFlow{
		ID: newSecret(), BrowserHash: hashSecret(browser), Step: StepPassword, Email: r.Email,
		ReturnTo: returnTo, CreatedAt: now, ExpiresAt: now.Add(FlowTTL),
	}
	if r.Page.Method == policy.MethodSSO && !choosePassword {
		f.Step = StepSSO
	}
	if choosePassword {
		f.Chosen = policy.MethodPassword
	}
	if err := e.store.CreateLoginFlow(ctx, f); err != nil {
		return Step{}, fmt.Errorf("signin: identify: %w", err)
	}
	page := r.Page
	if choosePassword && page.Method == policy.MethodSSO {
		page.Method = policy.MethodChoice // the password form, SSO still offered
	}
	return Step{FlowID: f.ID, Browser: browser, Step: f.Step, Email: r.Email, Page: page, OrgID: r.OrgID,
		EmergencyUntil: r.EmergencyUntil, Passkeys: e.passkeys != nil}, nil
}

// usable loads flow id and checks that this browser may continue it now.
func (e *Engine) usable(ctx context.Context, c Client, id string) (storage.LoginFlow, error) {
	if !wellFormed(id) {
		return storage.LoginFlow{}, &FlowError{Reason: FlowUnknown}
	}
	f, err := e.store.GetLoginFlow(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return f, &FlowError{Reason: FlowUnknown}
	}
	if err != nil {
		return f, fmt.Errorf("signin: load flow: %w", err)
	}
	got := hashSecret(c.Browser)
	switch {
	case c.Browser == "" || subtle.ConstantTimeCompare([]byte(got), []byte(f.BrowserHash)) != 1:
		return f, e.flowRefused(ctx, c, f, FlowOtherBrowser)
	case !f.UsedAt.IsZero():
		return f, e.flowRefused(ctx, c, f, FlowUsed)
	case !e.clock().Before(f.ExpiresAt):
		return f, e.flowRefused(ctx, c, f, FlowExpired)
	}
	return f, nil
}

// Show returns the step flow id stands at, for a page that shows it again
// (the password form after a wrong password). The page decision is made
// again from the email, as at Identify.
func (e *Engine) Show(ctx context.Context, c Client, id string) (Step, error) {
	f, err := e.usable(ctx, c, id)
	if err != nil {
		return Step{}, err
	}
	if f.Step != StepPassword && f.Step != StepSSO {
		return Step{}, e.flowRefused(ctx, c, f, FlowOutOfOrder)
	}
	r, err := e.policies.Route(ctx, f.Email)
	if err != nil {
		return Step{}, fmt.Errorf("signin: route: %w", err)
	}
	page := r.Page
	if page.Method == policy.MethodSSO {
		page.Method = policy.MethodChoice // they are at the password form: keep SSO offered
	}
	return Step{FlowID: f.ID, Browser: c.Browser, Step: StepPassword, Email: f.Email, Page: page, OrgID: r.OrgID,
		EmergencyUntil: r.EmergencyUntil, Passkeys: e.passkeys != nil}, nil
}
