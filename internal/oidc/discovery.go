package oidc

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"

	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
)

// discovery serves op's discovery document, corrected to what Gatehouse
// actually offers: op derives response and grant types from the library's
// capabilities (implicit, JWT bearer, device flow), which Gatehouse refuses.
func (p *Provider) discovery(w http.ResponseWriter, r *http.Request) {
	rec := httptest.NewRecorder()
	p.op.ServeHTTP(rec, r)
	var doc map[string]any
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &doc) != nil {
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
		return
	}
	doc["response_types_supported"] = []string{string(zoidc.ResponseTypeCode)}
	doc["response_modes_supported"] = []string{"query", "form_post"}
	doc["grant_types_supported"] = []string{string(zoidc.GrantTypeCode), string(zoidc.GrantTypeRefreshToken)}
	doc["code_challenge_methods_supported"] = []string{string(zoidc.CodeChallengeMethodS256)}
	delete(doc, "device_authorization_endpoint")
	for k, v := range rec.Header() {
		if k != "Content-Length" {
			w.Header()[k] = v // CORS: any origin may read discovery
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_ = json.NewEncoder(w).Encode(doc)
}
