package adminapi_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
)

// sendRaw is send with the Content-Type given (none if "").
func sendRaw(t *testing.T, url, method, authorization, contentType string, body []byte) response {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", authorization)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: b}
}

// A body sent without the JSON media type, or naming a field twice, is
// refused with a JSON error that says why, and creates nothing.
func TestAmbiguousBodiesAreRefused(t *testing.T) {
	e := newEnv(t)
	before := e.auditCount()
	body := []byte(`{"email":"zoe@acme.test","role":"member","invite":false}`)

	noType := sendRaw(t, e.url+"/api/v1/members", "POST", "Bearer "+e.tokenA, "", body)
	if noType.status != 415 || noType.errCode(t) != "unsupported_media_type" {
		t.Errorf("no Content-Type: %d %s", noType.status, noType.body)
	}
	plain := sendRaw(t, e.url+"/api/v1/members", "POST", "Bearer "+e.tokenA, "text/plain", body)
	if plain.status != 415 || plain.errCode(t) != "unsupported_media_type" {
		t.Errorf("text/plain: %d %s", plain.status, plain.body)
	}
	dup := e.do("POST", "/api/v1/members", e.tokenA, []byte(`{"email":"zoe@acme.test","role":"member","invite":false,"role":"owner"}`))
	if dup.status != 400 || dup.errCode(t) != "invalid_request" || !strings.Contains(string(dup.body), `\"role\" twice`) {
		t.Errorf("duplicate role: %d %s", dup.status, dup.body)
	}
	if got := e.do("GET", "/api/v1/members/zoe@acme.test", e.tokenA, nil); got.status != 404 {
		t.Errorf("a refused body created the member: %d %s", got.status, got.body)
	}
	if e.auditCount() != before {
		t.Errorf("a refused body wrote audit events")
	}
}
