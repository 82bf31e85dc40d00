package account

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/reqctx"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// EnsureSetupLink returns a fresh one-time first-admin link (valid SetupTTL,
// single use; earlier unused links stop working) while no owner exists, and
// "" once one does.
func (s *Service) EnsureSetupLink(ctx context.Context) (string, error) {
	now := s.clock()
	var secret string
	err := s.store.InTx(ctx, func(tx storage.Store) error {
		secret = ""
		owners, err := tx.CountAccounts(ctx, storage.RoleOwner)
		if err != nil {
			return fmt.Errorf("account: count owners: %w", err)
		}
		if owners > 0 {
			return nil
		}
		if err := tx.InvalidateTokens(ctx, "", storage.PurposeSetup, now); err != nil {
			return fmt.Errorf("account: invalidate set-up links: %w", err)
		}
		if secret, err = s.newOneTimeToken(ctx, tx, storage.PurposeSetup, storage.Account{}, s.cfg.SetupTTL, reqctx.From(ctx).IP, now); err != nil {
			return err
		}
		return s.record(ctx, tx, now, storage.AuditEvent{
			Action:  "setup.link_issued",
			Details: map[string]string{"expires_at": now.Add(s.cfg.SetupTTL).Format(time.RFC3339)},
		})
	})
	if err != nil || secret == "" {
		return "", err
	}
	return s.link("/setup", secret, ""), nil
}

// CheckSetupToken reports whether token is a live first-admin token:
// ErrSetupDone once an owner exists, ErrInvalidLink for a token that is
// unknown, used, superseded or expired.
func (s *Service) CheckSetupToken(ctx context.Context, token string) error {
	return s.checkSetupToken(ctx, s.store, token, s.clock())
}

func (s *Service) checkSetupToken(ctx context.Context, st storage.Store, token string, now time.Time) (err error) {
	owners, err := st.CountAccounts(ctx, storage.RoleOwner)
	if err != nil {
		return fmt.Errorf("account: count owners: %w", err)
	}
	// Checked first: whoever opens an old link after set-up is best told
	// to sign in, not to ask for a new link.
	if owners > 0 {
		return ErrSetupDone
	}
	_, err = liveToken(ctx, st, token, now, storage.PurposeSetup)
	return err
}

// SetupInput is what the first-admin form collects.
type SetupInput struct {
	OrgName     string
	Email       string
	DisplayName string
	Password    string
}

// CompleteSetup creates the first organization and its owner, consuming the
// token, in one transaction with its audit events.
func (s *Service) CompleteSetup(ctx context.Context, token string, in SetupInput) (storage.Organization, storage.Account, error) {
	var org storage.Organization
	var acct storage.Account
	now := s.clock()
	if err := s.checkSetupToken(ctx, s.store, token, now); err != nil {
		return org, acct, err
	}
	orgName, err := cleanText("org_name", "The organization name", in.OrgName, 100, false)
	if err != nil {
		return org, acct, err
	}
	email, err := NormalizeEmail(in.Email)
	if err != nil {
		return org, acct, err
	}
	display, err := cleanText("display_name", "Your name", in.DisplayName, 100, true)
	if err != nil {
		return org, acct, err
	}
	if err := CheckPassword(in.Password, email); err != nil {
		return org, acct, err
	}
	hash, err := s.hashPassword(ctx, in.Password)
	if err != nil {
		return org, acct, err
	}

	acctID := uuid.NewString()
	// The person completing set-up is the actor of everything it creates.
	actx := reqctx.WithActor(ctx, "account", acctID, email)
	err = s.store.InTx(ctx, func(tx storage.Store) error {
		// Re-checked inside the transaction: two people racing with the
		// same link, or two links, must not both create an owner.
		if err := s.checkSetupToken(ctx, tx, token, now); err != nil {
			return err
		}
		tok, err := liveToken(ctx, tx, token, now, storage.PurposeSetup)
		if err != nil {
			return err
		}
		if err := useToken(ctx, tx, tok, now); err != nil {
			return err
		}
		if org, err = s.createOrgTx(actx, tx, orgName, "", now); err != nil {
			return err
		}
		acct = storage.Account{
			ID: acctID, OrgID: org.ID, Email: email, DisplayName: display,
			PasswordHash: hash, PasswordChangedAt: now, PasswordOrigin: storage.PasswordOpen,
			Role: storage.RoleOwner, Status: storage.StatusActive,
			CreatedAt: now, UpdatedAt: now, Version: 1, Origin: storage.OriginSetup,
		}
		if acct, err = s.createAccountTx(actx, tx, acct, now, nil); err != nil {
			return err
		}
		return s.record(actx, tx, now, storage.AuditEvent{
			Action:     "setup.complete",
			TargetType: "organization",
			TargetID:   org.ID,
			Details:    map[string]string{"org_slug": org.Slug, "owner_id": acct.ID},
		})
	})
	if err != nil {
		return storage.Organization{}, storage.Account{}, err
	}
	return org, acct, nil
}

// createOrgTx creates an organization in tx with its audit event. An empty
// slug is derived from name, made unique with -2, -3 …; an explicit slug
// must be free.
func (s *Service) createOrgTx(ctx context.Context, tx storage.Store, name, slug string, now time.Time) (storage.Organization, error) {
	var err error
	if slug == "" {
		if slug, err = uniqueSlug(ctx, tx, slugify(name)); err != nil {
			return storage.Organization{}, err
		}
	} else if _, err := tx.GetOrganizationBySlug(ctx, slug); err == nil {
		return storage.Organization{}, mapErr(storage.ErrConflict, "the organization slug "+strconv.Quote(slug))
	} else if !errors.Is(err, storage.ErrNotFound) {
		return storage.Organization{}, fmt.Errorf("account: look up slug: %w", err)
	}
	org := storage.Organization{ID: uuid.NewString(), Slug: slug, Name: name, CreatedAt: now}
	if err := tx.CreateOrganization(ctx, org); err != nil {
		return storage.Organization{}, mapErr(err, "the organization slug "+strconv.Quote(slug))
	}
	err = s.record(ctx, tx, now, storage.AuditEvent{
		OrgID:      org.ID,
		Action:     "organization.create",
		TargetType: "organization",
		TargetID:   org.ID,
		Details:    map[string]string{"name": org.Name, "slug": org.Slug},
	})
	return org, err
}

// createAccountTx creates a in tx with its "account.create" audit event and
// returns the stored record.
func (s *Service) createAccountTx(ctx context.Context, tx storage.Store, a storage.Account, now time.Time, details map[string]string) (storage.Account, error) {
	// Checked up front: on PostgreSQL a failed INSERT poisons the
	// transaction, and the message should name the email.
	if _, err := tx.GetAccountByEmail(ctx, a.Email); err == nil {
		return a, mapErr(storage.ErrConflict, "an account with the email "+a.Email)
	} else if !errors.Is(err, storage.ErrNotFound) {
		return a, fmt.Errorf("account: look up email: %w", err)
	}
	// Every account the service creates (set-up, members added in the
	// console, the API or the CLI) passes here.
	if err := checkNotConfusable(ctx, tx, a.OrgID, a.Email, ""); err != nil {
		return a, err
	}
	if err := tx.CreateAccount(ctx, a); err != nil {
		return a, mapErr(err, "an account with the email "+a.Email)
	}
	stored, err := tx.GetAccount(ctx, a.ID)
	if err != nil {
		return a, fmt.Errorf("account: read back new account: %w", err)
	}
	if details == nil {
		details = map[string]string{}
	}
	details["email"], details["role"] = a.Email, string(a.Role)
	err = s.record(ctx, tx, now, storage.AuditEvent{
		OrgID:      a.OrgID,
		Action:     "account.create",
		TargetType: "account",
		TargetID:   a.ID,
		Details:    details,
	})
	return stored, err
}

const maxSlugLen = 40

var slugRE = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// slugify derives a URL-safe slug from an organization name: lowercase
// ASCII letters and digits, everything else one dash, at most 40 bytes,
// "org" when nothing is left.
func slugify(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
			continue
		}
		dash = true
	}
	slug := b.String()
	if len(slug) > maxSlugLen {
		slug = strings.TrimRight(slug[:maxSlugLen], "-")
	}
	if slug == "" {
		return "org"
	}
	return slug
}

// uniqueSlug returns base, or base-2, base-3 … (shortened to stay within
// 40 bytes), whichever no organization has yet.
func uniqueSlug(ctx context.Context, st storage.Organizations, base string) (string, error) {
	for n := 1; n <= 1000; n++ {
		cand := base
		if n > 1 {
			suffix := "-" + strconv.Itoa(n)
			cand = strings.TrimRight(base[:min(len(base), maxSlugLen-len(suffix))], "-") + suffix
		}
		_, err := st.GetOrganizationBySlug(ctx, cand)
		if errors.Is(err, storage.ErrNotFound) {
			return cand, nil
		}
		if err != nil {
			return "", fmt.Errorf("account: look up slug: %w", err)
		}
	}
	return "", mapErr(storage.ErrConflict, "the organization slug "+strconv.Quote(base))
}
