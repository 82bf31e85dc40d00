package adminapi

import (
	"net/http"
	"strconv"

	"github.com/gatehouse-id/gatehouse/internal/apiview"
	"github.com/gatehouse-id/gatehouse/internal/httpserver"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// addPolicyDomain makes the policy cover the accounts at a verified
// domain (PUT: naming it twice is no change). The optional body is
// {"force_reason": "…"} (409 lockout otherwise refuses a change that
// locks every owner out or takes the last break-glass owner).
func (h *Handler) addPolicyDomain(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
	var req forceRequest
	if !h.decode(w, r, &req, true) {
		return
	}
	if err := h.Policies.AddDomain(r.Context(), tok.OrgID, r.PathValue("ref"), r.PathValue("domain"), req.force()); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// removePolicyDomain stops the policy covering a domain; its people fall
// to the default unless a membership or group places them.
func (h *Handler) removePolicyDomain(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
	if err := h.Policies.RemoveDomain(r.Context(), tok.OrgID, r.PathValue("ref"), r.PathValue("domain"), forceQuery(r)); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// getPolicyCoverage answers whom the policy covers: counts, the summary
// in words, and one page of people by email (?after=&limit=, keyset).
func (h *Handler) getPolicyCoverage(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
	ref, q := r.PathValue("ref"), r.URL.Query()
	limit := 50
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			badRequest(w, "limit must be a whole number from 1 to 200.", "limit")
			return
		}
		limit = n
	}
	cov, err := h.Policies.Coverage(r.Context(), tok.OrgID, ref)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	people, next, err := h.Policies.CoveragePage(r.Context(), tok.OrgID, ref, q.Get("after"), limit)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, apiview.PolicyCoverageFrom(cov, people, next))
}
