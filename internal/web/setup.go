package web

import (
	"errors"
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/signin"
)

// --- first admin ---

func (h *Handler) setupDone(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusOK, "message", &view{
		Title:    "Already set up",
		Org:      h.orgName(r.Context(), nil),
		Heading:  "This is already set up",
		Message:  "The first administrator has been created, so this link isn't needed any more. Sign in instead.",
		LinkHref: "/login", LinkText: "Go to sign in",
	})
}

func (h *Handler) setupInvalid(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusBadRequest, "message", &view{
		Title:   "Link expired",
		Heading: "This set-up link doesn't work",
		Message: "It may have expired, been used, or been replaced by a newer one. " +
			"Whoever runs the server can get a fresh link by restarting it: it prints a new one while nobody has finished set-up.",
	})
}

// setupErr shows the page for a token CheckSetupToken or CompleteSetup
// refused, and reports whether err was one of those.
func (h *Handler) setupErr(w http.ResponseWriter, r *http.Request, err error) bool {
	switch {
	case errors.Is(err, account.ErrSetupDone):
		h.setupDone(w, r)
	case errors.Is(err, account.ErrInvalidLink):
		h.setupInvalid(w, r)
	default:
		return false
	}
	return true
}

func (h *Handler) setupForm(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	if err := h.Accounts.CheckSetupToken(r.Context(), token); err != nil {
		if !h.setupErr(w, r, err) {
			h.serverError(w, r, "check setup token", err)
		}
		return
	}
	h.render(w, r, http.StatusOK, "setup", &view{Title: "Set up " + h.product(), Token: token, Focus: "org_name"})
}

func (h *Handler) setupSubmit(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	f := r.PostForm
	token := f.Get("token")
	again := func(status int, errs map[string]string, msg string) {
		h.render(w, r, status, "setup", &view{
			Title: "Set up " + h.product(), Token: token,
			OrgName: f.Get("org_name"), DisplayName: f.Get("display_name"), Email: f.Get("email"),
			Errors: errs, Error: msg,
		})
	}
	if msg := confirmMismatch(f.Get("password"), f.Get("confirm")); msg != "" {
		again(http.StatusBadRequest, map[string]string{"confirm": msg}, "")
		return
	}
	_, acct, err := h.Accounts.CompleteSetup(r.Context(), token, account.SetupInput{
		OrgName:     f.Get("org_name"),
		Email:       f.Get("email"),
		DisplayName: f.Get("display_name"),
		Password:    f.Get("password"),
	})
	var invalid *account.InvalidInputError
	switch {
	case err == nil:
	case errors.As(err, &invalid):
		field := setupFields[invalid.Field]
		if field == "" {
			again(http.StatusBadRequest, nil, invalid.Message)
			return
		}
		again(http.StatusBadRequest, map[string]string{field: invalid.Message}, "")
		return
	case h.setupErr(w, r, err):
		return
	default:
		h.serverError(w, r, "complete setup", err)
		return
	}
	// The owner lands in the console, whose overview lists the next steps.
	out, err := h.SignIn.Link(r.Context(), h.client(r), acct, signin.LinkSetup, "/admin?notice=welcome")
	if err != nil {
		h.serverError(w, r, "start session", err)
		return
	}
	h.signedIn(w, r, out)
}

// setupFields maps the account service's field names to the form's.
// Unknown fields show as a form-level error instead.
var setupFields = map[string]string{
	"org_name": "org_name", "display_name": "display_name", "email": "email", "password": "password",
}

// --- recovery links (`gatehouse recover`) ---

func (h *Handler) recoverConfirm(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("token") == "" && h.OrgRecovery != nil {
		h.recoverCodeForm(w, r) // no link: an owner with an organization recovery code
		return
	}
	h.render(w, r, http.StatusOK, "recover", &view{
		Title: "Recovery sign-in",
		Org:   h.orgName(r.Context(), nil),
		Token: r.URL.Query().Get("token"),
	})
}

func (h *Handler) recoverSubmit(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	acct, err := h.Accounts.RedeemRecoveryLink(r.Context(), r.PostForm.Get("token"))
	if errors.Is(err, account.ErrInvalidLink) || errors.Is(err, account.ErrNotFound) {
		h.SignIn.LinkRefused(signin.LinkRecovery)
		h.render(w, r, http.StatusBadRequest, "message", &view{
			Title:   "Link expired",
			Org:     h.orgName(r.Context(), nil),
			Heading: "This recovery link doesn't work",
			Message: "It may have expired or been used already. Whoever runs the server can issue a new one with “gatehouse recover”.",
		})
		return
	}
	if err != nil {
		h.serverError(w, r, "redeem recovery link", err)
		return
	}
	out, err := h.SignIn.Link(r.Context(), h.client(r), acct, signin.LinkRecovery, "/admin")
	if err != nil {
		h.serverError(w, r, "start session", err)
		return
	}
	h.signedIn(w, r, out)
}
