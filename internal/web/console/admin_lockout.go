package console

import (
	"errors"
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/httpserver"
	"github.com/gatehouse-id/gatehouse/internal/lockout"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// lockoutView is the page shown instead of saving a change that would
// leave no owner able to sign in without the IdP: who would be locked
// out, how to avoid it, and a form that makes the same change again with
// a reason (audited with the change).
type lockoutView struct {
	Message   string
	LockedOut []lockout.Person
	Action    string            // the same URL the refused form posted to
	Fields    map[string]string // the refused form's values, resent as they were
	Cancel    string
	Reason    string // the reason typed before, if the page comes back
	// NoBreakGlass: refused (also) because enforcing SSO needs a
	// break-glass owner with a second factor.
	NoBreakGlass bool
	// LastBreakGlass (with NoBreakGlass): the organization enforces SSO
	// and the change takes away its last break-glass owner.
	LastBreakGlass bool
}

// forceFrom is the console's force: the reason typed on the lockout page.
func forceFrom(r *http.Request) lockout.Force {
	return lockout.Force{Reason: r.PostFormValue("force_reason")}
}

// lockoutPage renders the confirmation page when err is a lockout refusal
// and reports whether it did. section marks the navigation; cancel is
// where "Cancel" leads.
func (h *Handler) lockoutPage(w http.ResponseWriter, r *http.Request, adm storage.Account, err error, section, cancel string) bool {
	var le *lockout.Error
	if !errors.As(err, &le) {
		return false
	}
	fields := map[string]string{}
	for k, vs := range r.PostForm {
		if k == "force_reason" || k == httpserver.CSRFField || len(vs) == 0 {
			continue
		}
		fields[k] = vs[0]
	}
	h.adminPage(w, r, http.StatusConflict, "admin_lockout", adm, &view{
		Title: "This would lock every owner out",
		Admin: &adminView{Section: section, Lockout: &lockoutView{
			Message: le.Error(), LockedOut: le.LockedOut, Action: r.URL.Path, Fields: fields,
			Cancel: cancel, Reason: r.PostFormValue("force_reason"),
			NoBreakGlass:   le.NoBreakGlass && len(le.LockedOut) == 0,
			LastBreakGlass: le.LastBreakGlass,
		}},
	})
	return true
}
