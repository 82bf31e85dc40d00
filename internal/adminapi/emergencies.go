package adminapi

import (
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/apiview"
	"github.com/gatehouse-id/gatehouse/internal/emergency"
	"github.com/gatehouse-id/gatehouse/internal/httpserver"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// Emergency (failback) mode of the token's organization.

func (h *Handler) emergencyJSON(e storage.Emergency) apiview.Emergency {
	return apiview.EmergencyFrom(e, h.Now())
}

func (h *Handler) listEmergencies(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
	es, err := h.Emergencies.History(r.Context(), tok.OrgID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := make([]apiview.Emergency, 0, len(es))
	var active *apiview.Emergency
	for _, e := range es {
		v := h.emergencyJSON(e)
		if v.Active {
			active = &v
		}
		out = append(out, v)
	}
	httpserver.WriteJSON(w, http.StatusOK, map[string]any{"active": active, "emergencies": out})
}

func (h *Handler) activeEmergency(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
	e, ok, err := h.Emergencies.Active(r.Context(), tok.OrgID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var active *apiview.Emergency
	if ok {
		v := h.emergencyJSON(e)
		active = &v
	}
	httpserver.WriteJSON(w, http.StatusOK, map[string]any{"active": active})
}

func (h *Handler) getEmergency(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
	e, err := h.Emergencies.Get(r.Context(), tok.OrgID, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ss, err := h.Emergencies.SignIns(r.Context(), tok.OrgID, e.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, map[string]any{
		"emergency": h.emergencyJSON(e), "sign_ins": apiview.EmergencySignInsFrom(ss),
	})
}

// startEmergencyRequest is the body of POST /emergencies.
type startEmergencyRequest struct {
	Reason   string   `json:"reason"`
	For      string   `json:"for"`      // Go duration ("4h", "90m"); "" is the configured default
	Policies []string `json:"policies"` // names or IDs; empty: the whole organization
	// SignOutAtEnd ends the sessions made during it when it ends.
	SignOutAtEnd bool `json:"sign_out_at_end"`
}

// duration parses an optional duration field, answering 400 itself.
func duration(w http.ResponseWriter, s, field string) (time.Duration, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, true
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		badRequest(w, `Give a positive duration such as "4h" or "90m".`, field)
		return 0, false
	}
	return d, true
}

func (h *Handler) startEmergency(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
	var req startEmergencyRequest
	if !h.decode(w, r, &req, false) {
		return
	}
	d, ok := duration(w, req.For, "for")
	if !ok {
		return
	}
	e, err := h.Emergencies.Start(r.Context(), tok.OrgID, emergency.StartInput{Reason: req.Reason, For: d, Policies: req.Policies, SignOutAtEnd: req.SignOutAtEnd})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusCreated, h.emergencyJSON(e))
}

// extendEmergencyRequest is the body of POST /emergencies/{id}/extend:
// "for" past the current end, or "until" a time, and/or "sign_out_at_end"
// (absent: unchanged).
type extendEmergencyRequest struct {
	For          string    `json:"for"`
	Until        time.Time `json:"until"`
	SignOutAtEnd *bool     `json:"sign_out_at_end"`
}

func (h *Handler) extendEmergency(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
	var req extendEmergencyRequest
	if !h.decode(w, r, &req, false) {
		return
	}
	d, ok := duration(w, req.For, "for")
	if !ok {
		return
	}
	if d == 0 && req.Until.IsZero() && req.SignOutAtEnd == nil {
		badRequest(w, `Give "for" (e.g. "2h"), "until" (RFC 3339) or "sign_out_at_end".`, "for")
		return
	}
	e, err := h.Emergencies.Extend(r.Context(), tok.OrgID, r.PathValue("id"),
		emergency.ExtendInput{For: d, Until: req.Until, SignOutAtEnd: req.SignOutAtEnd})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, h.emergencyJSON(e))
}

// endEmergencyRequest is the body of POST /emergencies/{id}/end.
type endEmergencyRequest struct {
	// SignOut ends at once every session made during the emergency.
	SignOut bool `json:"sign_out"`
}

func (h *Handler) endEmergency(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
	var req endEmergencyRequest
	if !h.decode(w, r, &req, true) {
		return
	}
	res, err := h.Emergencies.End(r.Context(), tok.OrgID, r.PathValue("id"), emergency.EndInput{SignOutSessions: req.SignOut})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, map[string]any{
		"emergency": h.emergencyJSON(res.Emergency), "passwords_cleared": res.PasswordsCleared, "sessions_revoked": res.SessionsRevoked,
	})
}

func (h *Handler) signOutEmergency(w http.ResponseWriter, r *http.Request, tok storage.APIToken) {
	n, err := h.Emergencies.SignOut(r.Context(), tok.OrgID, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, map[string]any{"sessions_revoked": n})
}
