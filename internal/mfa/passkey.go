package mfa

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/errs"
	"github.com/gatehouse-id/gatehouse/internal/lockout"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// Errors of the passkey service. Their texts are safe to show people.
var (
	// ErrPasskeyRefused: a passkey ceremony's answer was not accepted (an
	// unknown, used or expired challenge, a wrong origin, a bad signature,
	// no user verification, a cloned authenticator, another account's
	// passkey). The reason is logged and, where the account is known,
	// audited; people get one sentence for all of them.
	ErrPasskeyRefused error = errs.New(errs.Unauthenticated, "passkey_refused",
		"That passkey could not be used. Try again, or choose another way.")
	// ErrPasskeysUnavailable: Gatehouse's public URL has no domain name
	// (an IP address), and WebAuthn binds passkeys to a domain.
	ErrPasskeysUnavailable error = errs.New(errs.PreconditionFailed, "passkeys_unavailable",
		"Passkeys need Gatehouse on a domain name (such as localhost), not an IP address.")
	// ErrPasskeyNotFound: the account has no passkey with that ID.
	ErrPasskeyNotFound error = errs.New(errs.NotFound, "passkey_not_found",
		"That passkey is not one of yours, or it was already removed.")
	// ErrPasskeyName: the name given to a passkey is too long or holds
	// control characters.
	ErrPasskeyName error = errs.NewInvalid("name", "Name the passkey in at most 64 characters.")
)

// Audit actions of the passkey service.
const (
	ActionPasskeyAdded          = "mfa.passkey_added"
	ActionPasskeyRenamed        = "mfa.passkey_renamed"
	ActionPasskeyRemoved        = "mfa.passkey_removed"
	ActionPasskeyRefused        = "mfa.passkey_refused"
	ActionPasskeyCloneSuspected = "mfa.passkey_clone_suspected"
)

// passkeyChallengeTTL is how long a ceremony may take: enough to find a
// phone or a security key, short enough that a leaked options page is
// soon useless.
const passkeyChallengeTTL = 5 * time.Minute

// maxPasskeyName is the longest passkey name, in characters.
const maxPasskeyName = 64

// PasskeyConfig is the relying party: RPID is the domain passkeys are
// bound to (the public URL's host, without port), Origins the origins
// browsers may answer from (the public URL's).
type PasskeyConfig struct {
	RPID          string
	RPDisplayName string
	Origins       []string
}

// PasskeyConfigFromURL derives the relying party from Gatehouse's public
// URL: RP ID the host without port, origin the URL's scheme and host.
// An IP-address host gives ErrPasskeysUnavailable: browsers and
// go-webauthn refuse IP addresses as RP IDs.
func PasskeyConfigFromURL(publicURL, displayName string) (PasskeyConfig, error) {
	u, err := url.Parse(publicURL)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return PasskeyConfig{}, fmt.Errorf("mfa: public URL %q is not an http(s) URL", publicURL)
	}
	host := strings.ToLower(u.Hostname())
	if net.ParseIP(host) != nil {
		return PasskeyConfig{}, fmt.Errorf("mfa: public URL host %s: %w", host, ErrPasskeysUnavailable)
	}
	return PasskeyConfig{RPID: host, RPDisplayName: displayName, Origins: []string{u.Scheme + "://" + strings.ToLower(u.Host)}}, nil
}

// PasskeyLogin is who a passkey sign-in proved to be.
type PasskeyLogin struct {
	AccountID string
	// CredentialID is the WebAuthn credential ID, base64url without
	// padding (as browsers show it).
	CredentialID string
	// PasskeyID is the stored passkey's ID (storage.Passkey.ID).
	PasskeyID string
	// Emergency: the passkey was registered as an emergency credential.
	Emergency bool
}

// Passkeys registers passkeys and verifies passkey sign-ins (WebAuthn,
// github.com/go-webauthn/webauthn): discoverable credentials with user
// verification required, single-use challenges stored server-side, and
// signature counters checked for cloned authenticators. It knows nothing
// of HTTP: the edges pass the options and answers as JSON.
type Passkeys struct {
	store storage.Store
	wa    *webauthn.WebAuthn
	cfg   PasskeyConfig
	log   *slog.Logger
	now   func() time.Time
	begun atomic.Uint64 // ceremonies begun, to sweep expired challenges now and then
	// secondFactor tells who else has a second factor; see
	// SetSecondFactor.
	secondFactor lockout.SecondFactorFunc
}

// SetSecondFactor installs the lookup Remove asks whether another
// break-glass owner has a second factor (as Service.SetSecondFactor).
func (p *Passkeys) SetSecondFactor(f lockout.SecondFactorFunc) { p.secondFactor = f }

// NewPasskeys returns the passkey service for the relying party cfg.
// An IP-address RP ID gives ErrPasskeysUnavailable (wrapped): the app
// then runs without passkeys and the pages say why.
func NewPasskeys(store storage.Store, cfg PasskeyConfig, log *slog.Logger, now func() time.Time) (*Passkeys, error) {
	if store == nil {
		return nil, errors.New("mfa: NewPasskeys needs a store")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	if cfg.RPID == "" || net.ParseIP(strings.Trim(cfg.RPID, "[]")) != nil {
		return nil, fmt.Errorf("mfa: relying party ID %q: %w", cfg.RPID, ErrPasskeysUnavailable)
	}
	if cfg.RPDisplayName == "" {
		cfg.RPDisplayName = cfg.RPID
	}
	wa, err := webauthn.New(&webauthn.Config{
		RPID:                  cfg.RPID,
		RPDisplayName:         cfg.RPDisplayName,
		RPOrigins:             cfg.Origins,
		AttestationPreference: protocol.PreferNoAttestation,
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			RequireResidentKey: protocol.ResidentKeyRequired(),
			ResidentKey:        protocol.ResidentKeyRequirementRequired,
			UserVerification:   protocol.VerificationRequired,
		},
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Timeout: passkeyChallengeTTL, TimeoutUVD: passkeyChallengeTTL},
			Registration: webauthn.TimeoutConfig{Timeout: passkeyChallengeTTL, TimeoutUVD: passkeyChallengeTTL},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("mfa: passkey relying party %q: %w", cfg.RPID, err)
	}
	return &Passkeys{store: store, wa: wa, cfg: cfg, log: log, now: now}, nil
}

// Config returns the relying party the service verifies for.
func (p *Passkeys) Config() PasskeyConfig { return p.cfg }

// passkeyUser is an account as go-webauthn sees it. The user handle is
// the account ID: opaque, stable, and what a discoverable sign-in returns.
type passkeyUser struct {
	acct  storage.Account
	creds []webauthn.Credential
}

func (u *passkeyUser) WebAuthnID() []byte { return []byte(u.acct.ID) }
func (u *passkeyUser) WebAuthnName() string {
	return u.acct.Email
}
func (u *passkeyUser) WebAuthnDisplayName() string {
	if u.acct.DisplayName != "" {
		return u.acct.DisplayName
	}
	return u.acct.Email
}
func (u *passkeyUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

// credentialOf turns a stored passkey into go-webauthn's credential record.
func credentialOf(pk storage.Passkey) webauthn.Credential {
	ts := make([]protocol.AuthenticatorTransport, len(pk.Transports))
	for i, t := range pk.Transports {
		ts[i] = protocol.AuthenticatorTransport(t)
	}
	return webauthn.Credential{
		ID: pk.CredentialID, PublicKey: pk.PublicKey,
		AttestationType: pk.AttestationType, AttestationFormat: pk.AttestationFormat,
		Transport: ts,
		Flags: webauthn.CredentialFlags{UserPresent: true, UserVerified: true,
			BackupEligible: pk.BackupEligible, BackupState: pk.BackupState},
		Authenticator: webauthn.Authenticator{AAGUID: pk.AAGUID, SignCount: pk.SignCount},
	}
}

// userOf loads acct's passkeys as a go-webauthn user.
func (p *Passkeys) userOf(ctx context.Context, acct storage.Account) (*passkeyUser, error) {
	pks, err := p.store.ListPasskeys(ctx, acct.ID)
	if err != nil {
		return nil, fmt.Errorf("mfa: list passkeys of %q: %w", acct.ID, err)
	}
	u := &passkeyUser{acct: acct}
	for _, pk := range pks {
		u.creds = append(u.creds, credentialOf(pk))
	}
	return u, nil
}

// requireSelf lets only the account itself change its passkeys.
func requireSelf(ctx context.Context, tx authz.Store, acct storage.Account) error {
	actor, err := authz.Resolve(ctx, tx, acct.OrgID)
	if err != nil {
		return err
	}
	if actor.Kind != authz.KindAccount || actor.ID != acct.ID {
		return authz.ErrForbidden
	}
	return nil
}

// newChallenge stores a ceremony's session data under a fresh opaque ID
// and returns the ID the browser will send back.
func (p *Passkeys) newChallenge(ctx context.Context, accountID, purpose string, emergency bool, sd *webauthn.SessionData) (string, error) {
	// Our own clock decides expiry (the stored row); go-webauthn's would
	// use the wall clock.
	sd.Expires = time.Time{}
	session, err := json.Marshal(sd)
	if err != nil {
		return "", fmt.Errorf("mfa: encode passkey session: %w", err)
	}
	var b [32]byte
	_, _ = rand.Read(b[:])
	id := base64.RawURLEncoding.EncodeToString(b[:])
	now := p.now()
	if err := p.store.CreatePasskeyChallenge(ctx, storage.PasskeyChallenge{
		IDHash: hashChallengeID(id), AccountID: accountID, Purpose: purpose, Emergency: emergency,
		Session: session, CreatedAt: now, ExpiresAt: now.Add(passkeyChallengeTTL),
	}); err != nil {
		return "", fmt.Errorf("mfa: store passkey challenge: %w", err)
	}
	if p.begun.Add(1)%64 == 0 {
		if _, err := p.DeleteExpiredChallenges(ctx); err != nil {
			p.log.WarnContext(ctx, "cannot delete expired passkey challenges", "err", err)
		}
	}
	return id, nil
}

func hashChallengeID(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

// consumeChallenge spends the challenge id (whatever happens next, it
// cannot be answered again) and returns its session data. It returns a
// refusal reason instead when the challenge is unknown, used, expired or
// for another purpose.
func (p *Passkeys) consumeChallenge(ctx context.Context, id, purpose string) (storage.PasskeyChallenge, webauthn.SessionData, string, error) {
	var sd webauthn.SessionData
	if id == "" || len(id) > 128 {
		return storage.PasskeyChallenge{}, sd, "challenge_unknown", nil
	}
	c, err := p.store.ConsumePasskeyChallenge(ctx, hashChallengeID(id))
	if errors.Is(err, storage.ErrNotFound) {
		return c, sd, "challenge_unknown", nil
	}
	if err != nil {
		return c, sd, "", fmt.Errorf("mfa: consume passkey challenge: %w", err)
	}
	if c.Purpose != purpose {
		return c, sd, "challenge_purpose", nil
	}
	if !p.now().Before(c.ExpiresAt) {
		return c, sd, "challenge_expired", nil
	}
	if err := json.Unmarshal(c.Session, &sd); err != nil {
		return c, sd, "", fmt.Errorf("mfa: decode passkey session: %w", err)
	}
	return c, sd, "", nil
}

// DeleteExpiredChallenges removes ceremonies that expired unanswered.
func (p *Passkeys) DeleteExpiredChallenges(ctx context.Context) (int, error) {
	return p.store.DeleteExpiredPasskeyChallenges(ctx, p.now())
}

// cleanName checks a passkey's name; empty becomes "Passkey".
func cleanName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "Passkey", nil
	}
	if !utf8.ValidString(name) || utf8.RuneCountInString(name) > maxPasskeyName {
		return "", ErrPasskeyName
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return "", ErrPasskeyName
		}
	}
	return name, nil
}

func newPasskeyID() string { return uuid.NewString() }

// passkeyEvent is an audit event about acct's passkey pk, in acct's organization.
func passkeyEvent(action string, at time.Time, acct storage.Account, pk storage.Passkey) storage.AuditEvent {
	return storage.AuditEvent{
		OrgID: acct.OrgID, Time: at, Action: action,
		TargetType: "account", TargetID: acct.ID,
		Details: map[string]string{"passkey_id": pk.ID, "passkey_name": pk.Name, "emergency": fmt.Sprint(pk.Emergency)},
	}
}

// auditTx records e inside tx.
func auditTx(ctx context.Context, tx storage.Store, e storage.AuditEvent) error {
	if err := audit.Record(ctx, tx, e); err != nil {
		return fmt.Errorf("mfa: audit %s: %w", e.Action, err)
	}
	return nil
}
