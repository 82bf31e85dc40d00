package web

import (
	"context"

	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/web/page"
)

// signInApp is the app a sign-in continues to.
type signInApp struct {
	Name  string
	OrgID string
}

// appFor is the app whose sign-in returnTo continues (ok false when it is
// none, or the lookup is not wired). The name is the registry's, asked
// for by the request returnTo names; a name is never worth an error page,
// so a failed lookup shows the organization instead.
func (h *Handler) appFor(ctx context.Context, returnTo string) (signInApp, bool) {
	if h.Apps == nil || returnTo == "" || returnTo == page.DefaultReturnTo {
		return signInApp{}, false
	}
	name, orgID, ok := h.Apps.SignInApp(ctx, returnTo)
	if !ok || name == "" {
		return signInApp{}, false
	}
	return signInApp{Name: name, OrgID: orgID}, true
}

// appName is the name of the app a sign-in continues to, "" when none.
func (h *Handler) appName(ctx context.Context, returnTo string) string {
	a, _ := h.appFor(ctx, returnTo)
	return a.Name
}

// appReauth says why an app's sign-in asks a signed-in person to sign in
// again, and which address to offer: the glue sends them here when their
// session cannot answer the app (another organization's account, too old
// for the app's max_age or prompt=login, not the account the app named).
// hint is the address the app suggested, if any.
func (h *Handler) appReauth(ctx context.Context, a signInApp, ok bool, acct storage.Account, hint string) (msg, email string) {
	email = hint
	if !ok {
		if email == "" {
			email = acct.Email
		}
		return appReauthMessage, email
	}
	if acct.OrgID != a.OrgID {
		// Offering the address of the wrong organization would only send
		// them round again.
		org := h.pg().OrgNameOf(ctx, a.OrgID)
		return "You're signed in as " + acct.Email + ", but " + a.Name + " is for " + org +
			" accounts. Sign in with your " + org + " account to continue.", email
	}
	if email == "" {
		email = acct.Email
	}
	return "For your security, " + a.Name + " asks you to sign in again.", email
}
