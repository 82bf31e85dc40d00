// Package signintest holds small, real second-factor implementations for
// tests of the sign-in engine and pages, until the MFA service is wired
// (the engine depends on interfaces only). TOTP is RFC 6238 through
// github.com/pquerna/otp with replay refusal; recovery codes are
// single-use. Everything is kept in memory.
package signintest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/gatehouse-id/gatehouse/internal/mail"
	"github.com/gatehouse-id/gatehouse/internal/policy"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// ErrInvalidCode is every refused code.
var ErrInvalidCode = errors.New("signintest: invalid code")

// Factors is an in-memory TOTP + recovery-code store.
type Factors struct {
	Now func() time.Time

	mu       sync.Mutex
	secrets  map[string]string // account → confirmed secret
	pending  map[string]string // account → secret being enrolled
	used     map[string]string // account+code → used (replay within the window)
	recovery map[string][]string
}

// NewFactors returns an empty store using now.
func NewFactors(now func() time.Time) *Factors {
	return &Factors{Now: now, secrets: map[string]string{}, pending: map[string]string{},
		used: map[string]string{}, recovery: map[string][]string{}}
}

// Enrol gives accountID a TOTP secret directly (test set-up) and returns it.
func (f *Factors) Enrol(accountID string) string {
	key, err := totp.Generate(totp.GenerateOpts{Issuer: "Gatehouse", AccountName: accountID})
	if err != nil {
		panic(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.secrets[accountID] = key.Secret()
	f.recovery[accountID] = []string{"aaaa-bbbb-1111", "cccc-dddd-2222"}
	return key.Secret()
}

// Code returns the current code for secret.
func (f *Factors) Code(secret string) string {
	c, err := totp.GenerateCode(secret, f.Now())
	if err != nil {
		panic(err)
	}
	return c
}

// TOTPEnrolled reports whether the account confirmed a TOTP secret.
func (f *Factors) TOTPEnrolled(_ context.Context, accountID string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.secrets[accountID]
	return ok, nil
}

func (f *Factors) check(secret, accountID, code string) error {
	ok, err := totp.ValidateCustom(code, secret, f.Now(), totp.ValidateOpts{Period: 30, Skew: 1, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil || !ok {
		return ErrInvalidCode
	}
	k := accountID + "/" + code
	if _, seen := f.used[k]; seen {
		return ErrInvalidCode // replay within the window
	}
	f.used[k] = code
	return nil
}

// VerifyTOTP checks code, refusing one already used.
func (f *Factors) VerifyTOTP(_ context.Context, accountID, code string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	secret, ok := f.secrets[accountID]
	if !ok {
		return ErrInvalidCode
	}
	return f.check(secret, accountID, code)
}

// UseRecoveryCode spends one of the account's recovery codes.
func (f *Factors) UseRecoveryCode(_ context.Context, accountID, code string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	codes := f.recovery[accountID]
	i := slices.Index(codes, code)
	if i < 0 {
		return ErrInvalidCode
	}
	f.recovery[accountID] = slices.Delete(codes, i, i+1)
	return nil
}

// BeginTOTP starts enrolment (the engine's EnrolTOTP).
func (f *Factors) BeginTOTP(_ context.Context, acct storage.Account) (secret, uri string, qrPNG []byte, err error) {
	key, err := totp.Generate(totp.GenerateOpts{Issuer: "Gatehouse", AccountName: acct.Email})
	if err != nil {
		return "", "", nil, err
	}
	f.mu.Lock()
	f.pending[acct.ID] = key.Secret()
	f.mu.Unlock()
	// A 1×1 PNG stands in for the QR code.
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")
	return key.Secret(), key.URL(), png, nil
}

// Pending returns the secret being enrolled for accountID.
func (f *Factors) Pending(accountID string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pending[accountID]
}

// ConfirmTOTP confirms enrolment with a first code and returns recovery codes.
func (f *Factors) ConfirmTOTP(_ context.Context, acct storage.Account, code string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	secret, ok := f.pending[acct.ID]
	if !ok {
		return nil, ErrInvalidCode
	}
	if err := f.check(secret, acct.ID, code); err != nil {
		return nil, err
	}
	delete(f.pending, acct.ID)
	f.secrets[acct.ID] = secret
	codes := make([]string, 10)
	for i := range codes {
		codes[i] = fmt.Sprintf("code-%02d-%s", i, acct.ID[:4])
	}
	f.recovery[acct.ID] = codes
	return slices.Clone(codes), nil
}

// Emergencies is a tiny in-memory policy.Emergencies: at most one
// emergency per organization, organization-wide or scoped to policies.
type Emergencies struct {
	mu sync.Mutex
	m  map[string]Emergency
}

// Emergency is one emergency in force until Until.
type Emergency struct {
	ID, Reason string
	Until      time.Time
	Policies   []string // empty: the whole organization
}

// Start puts em in force for orgID.
func (e *Emergencies) Start(orgID string, em Emergency) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.m == nil {
		e.m = map[string]Emergency{}
	}
	e.m[orgID] = em
}

// End ends orgID's emergency.
func (e *Emergencies) End(orgID string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.m, orgID)
}

// ActiveFor implements policy.Emergencies.
func (e *Emergencies) ActiveFor(_ context.Context, orgID, policyID string, now time.Time) (policy.ActiveEmergency, bool, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	em, ok := e.m[orgID]
	if !ok || !now.Before(em.Until) || (len(em.Policies) > 0 && !slices.Contains(em.Policies, policyID)) {
		return policy.ActiveEmergency{}, false, nil
	}
	return policy.ActiveEmergency{ID: em.ID, Reason: em.Reason, Until: em.Until}, true, nil
}

// ActiveInOrg implements policy.Emergencies.
func (e *Emergencies) ActiveInOrg(_ context.Context, orgID string, now time.Time) (bool, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	em, ok := e.m[orgID]
	return ok && now.Before(em.Until), nil
}

// Mailbox is a mail.Sender that keeps what it is given.
type Mailbox struct {
	mu   sync.Mutex
	msgs []mail.Message
}

// Send implements mail.Sender.
func (m *Mailbox) Send(_ context.Context, msg mail.Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.msgs = append(m.msgs, msg)
	return nil
}

// Messages returns what was sent so far.
func (m *Mailbox) Messages() []mail.Message {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.msgs)
}

// ActiveUntil implements policy.EmergencyDeadlines.
func (e *Emergencies) ActiveUntil(_ context.Context, orgID string, now time.Time) (time.Time, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if em, ok := e.m[orgID]; ok && now.Before(em.Until) {
		return em.Until, nil
	}
	return time.Time{}, nil
}

// Passkeys is an in-memory stand-in for the WebAuthn service, for engine
// tests until the real one is wired: an "assertion" is the credential ID
// the test's authenticator names, and FinishLogin accepts it once per
// challenge when the credential is registered (the cryptography is the
// WebAuthn service's and tested there).
type Passkeys struct {
	mu         sync.Mutex
	creds      map[string]string // credential ID → account ID
	challenges map[string]bool   // outstanding challenges
	n          int
}

// Register gives accountID the passkey credID.
func (p *Passkeys) Register(accountID, credID string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.creds == nil {
		p.creds = map[string]string{}
	}
	p.creds[credID] = accountID
}

// Count implements signin.Passkeys.
func (p *Passkeys) Count(_ context.Context, accountID string) (int, int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, a := range p.creds {
		if a == accountID {
			n++
		}
	}
	return n, n, nil
}

// BeginLogin implements signin.Passkeys.
func (p *Passkeys) BeginLogin(_ context.Context, accountID string) ([]byte, string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.challenges == nil {
		p.challenges = map[string]bool{}
	}
	p.n++
	ch := fmt.Sprintf("ch-%d", p.n)
	p.challenges[ch] = true
	return []byte(`{"publicKey":{"challenge":"AAAA","userVerification":"required"}}`), ch, nil
}

// FinishLogin is the engine's FinishPasskey.
func (p *Passkeys) FinishLogin(_ context.Context, challengeID string, response []byte) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.challenges[challengeID] {
		return "", ErrInvalidCode
	}
	delete(p.challenges, challengeID) // single use
	acct, ok := p.creds[string(response)]
	if !ok {
		return "", ErrInvalidCode
	}
	return acct, nil
}
