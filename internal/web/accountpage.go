package web

import (
	"context"
	"errors"
	"github.com/gatehouse-id/gatehouse/internal/web/page"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// accountView is what /account shows about the signed-in person.
type accountView struct {
	Name    string
	Email   string
	OrgName string
	Role    string
	Others  int // sessions besides this one
	// HasPassword is false for accounts that only ever signed in with
	// SSO: the page offers to set a password instead of changing one.
	HasPassword bool
	// Passkeys is the "Passkeys" section (passkeys.go).
	Passkeys *passkeySection
	// TOTP is the authenticator-app section; nil hides it.
	TOTP *totpView
}

// sessionRow is one line of the sessions list.
type sessionRow struct {
	ID          string
	Device      string
	IP          string
	How         string    // "Password + authenticator code", "Single sign-on (Corp Entra)"
	SignedIn    time.Time // when the person authenticated
	SignedInAgo string    // "2 hours ago"
	SignedInAt  string    // "2 Jan 2026, 15:04 UTC"
	LastSeen    time.Time
	LastSeenAt  string // "5 minutes ago"
	Current     bool
}

func (h *Handler) accountPage(w http.ResponseWriter, r *http.Request) {
	h.renderAccount(w, r, http.StatusOK, notice(r), nil, "")
}

// renderAccount shows /account; errs and errMsg belong to the
// change-password form when it is shown again.
func (h *Handler) renderAccount(w http.ResponseWriter, r *http.Request, status int, note string, errs map[string]string, errMsg string) {
	v, _ := CurrentSession(r)
	sessions, err := h.Sessions.List(r.Context(), v.Account.ID)
	if err != nil {
		h.serverError(w, r, "list sessions", err)
		return
	}
	org := h.orgName(r.Context(), &v.Account)
	now := h.now()
	rows := make([]sessionRow, 0, len(sessions))
	others := 0
	conns := map[string]string{} // connection ID → name, looked up once per page
	for _, s := range sessions {
		signedIn := s.AuthTime
		if signedIn.IsZero() {
			signedIn = s.CreatedAt
		}
		row := sessionRow{
			ID:          s.ID,
			Device:      page.DeviceSummary(s.UserAgent),
			IP:          s.IP,
			How:         h.howSignedIn(r.Context(), s, conns),
			SignedIn:    signedIn,
			SignedInAgo: ago(now, signedIn),
			SignedInAt:  signedIn.UTC().Format("2 Jan 2006, 15:04 UTC"),
			LastSeen:    s.LastSeenAt,
			LastSeenAt:  ago(now, s.LastSeenAt),
			Current:     s.ID == v.Session.ID,
		}
		if row.IP == "" {
			row.IP = "unknown address"
		}
		if row.Current {
			// This device first: it is the one people look for.
			rows = append([]sessionRow{row}, rows...)
			continue
		}
		others++
		rows = append(rows, row)
	}
	name := v.Account.DisplayName
	if name == "" {
		name = v.Account.Email
	}
	totp, err := h.totpSection(r, v.Account)
	if err != nil {
		h.serverError(w, r, "read authenticator app", err)
		return
	}
	acct := v.Account
	h.render(w, r, status, "account", &view{
		Title:  "Your account",
		Org:    org,
		User:   &acct,
		Notice: note,
		Error:  errMsg,
		Errors: errs,
		Focus:  page.FirstError(errs, "current_password", "new_password", "confirm"),
		Account: &accountView{
			Name: name, Email: v.Account.Email, OrgName: org,
			Role: page.RoleWords[v.Account.Role], Others: others,
			HasPassword: v.Account.PasswordHash != "",
			Passkeys:    h.passkeySection(r, v.Account),
			TOTP:        totp,
		},
		Sessions: rows,
	})
}

// howSignedIn says in plain words how session s was signed in, naming the
// IdP connection of an SSO sign-in when it still exists. names caches
// connection names across one page's sessions.
func (h *Handler) howSignedIn(ctx context.Context, s storage.Session, names map[string]string) string {
	conn := ""
	if s.ConnectionID != "" && h.IdPs != nil && slices.Contains(s.AMR, session.MethodSSO) {
		name, ok := names[s.ConnectionID]
		if !ok {
			if c, err := h.IdPs.Get(ctx, s.OrgID, s.ConnectionID); err == nil {
				name = c.Name
			}
			names[s.ConnectionID] = name
		}
		conn = name
	}
	return methodWords(s.AMR, s.Method, conn)
}

// methodWords is page.MethodWords: the console says the same of a
// member's sessions.
func methodWords(amr []string, method, conn string) string {
	return page.MethodWords(amr, method, conn)
}

// ago says how long ago t was, in words.
func ago(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return plural(int(d/time.Minute), "minute") + " ago"
	case d < 24*time.Hour:
		return plural(int(d/time.Hour), "hour") + " ago"
	default:
		return plural(int(d/(24*time.Hour)), "day") + " ago"
	}
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}

func (h *Handler) revokeSession(w http.ResponseWriter, r *http.Request) {
	v, _ := CurrentSession(r)
	id := r.PathValue("id")
	if id == v.Session.ID {
		// Ending this device's session is signing out.
		h.logout(w, r)
		return
	}
	err := h.Sessions.Revoke(r.Context(), v.Account.ID, id, "user")
	if errors.Is(err, session.ErrInvalid) {
		h.ErrorPage(w, r, http.StatusNotFound, "That session is not one of yours, or it has already ended.")
		return
	}
	if err != nil {
		h.serverError(w, r, "revoke session", err)
		return
	}
	http.Redirect(w, r, "/account?notice=session-revoked", http.StatusSeeOther)
}

func (h *Handler) revokeOthers(w http.ResponseWriter, r *http.Request) {
	v, _ := CurrentSession(r)
	if _, err := h.Sessions.RevokeAll(r.Context(), v.Account.ID, v.Session.ID, "user"); err != nil {
		h.serverError(w, r, "revoke other sessions", err)
		return
	}
	http.Redirect(w, r, "/account?notice=others-revoked", http.StatusSeeOther)
}

func (h *Handler) changePassword(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	v, _ := CurrentSession(r)
	f := r.PostForm
	next := f.Get("new_password")
	if msg := confirmMismatch(next, f.Get("confirm")); msg != "" {
		h.renderAccount(w, r, http.StatusBadRequest, "", map[string]string{"confirm": msg}, "")
		return
	}
	err := h.Accounts.ChangePassword(r.Context(), v.Account.ID, v.Session.ID, f.Get("current_password"), next)
	var invalid *account.InvalidInputError
	var throttled *account.ThrottledError
	switch {
	case err == nil:
	case errors.Is(err, account.ErrBadCredentials):
		h.renderAccount(w, r, http.StatusBadRequest, "", map[string]string{"current_password": "Your current password is incorrect."}, "")
		return
	case errors.As(err, &throttled):
		retryAfter(w, throttled.RetryAfter)
		h.renderAccount(w, r, http.StatusTooManyRequests, "", nil,
			"Too many attempts. Wait "+waitText(throttled.RetryAfter)+", then try again.")
		return
	case errors.As(err, &invalid):
		field := "new_password"
		if invalid.Field == "current_password" || invalid.Field == "current" {
			field = "current_password"
		}
		h.renderAccount(w, r, http.StatusBadRequest, "", map[string]string{field: invalid.Message}, "")
		return
	default:
		h.serverError(w, r, "change password", err)
		return
	}
	http.Redirect(w, r, "/account?notice=password-changed", http.StatusSeeOther)
}
