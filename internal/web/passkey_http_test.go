package web_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/httpserver"
	"github.com/gatehouse-id/gatehouse/internal/mfa/softauthn"
)

// postJSON posts body as JSON, with the CSRF header when csrf is set.
func (c *client) postJSON(path string, body any, csrf bool) response {
	c.t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		c.t.Fatal(err)
	}
	h := http.Header{"Content-Type": {"application/json"}, "Accept": {"application/json"}}
	if csrf {
		h.Set(httpserver.CSRFHeader, c.csrf())
	}
	return c.postRaw(path, string(b), h)
}

// TestPasskeyEndpoints adds and removes a passkey through the JSON
// endpoints the page's script uses, with a software authenticator in the
// browser's place; the endpoints need the session and the CSRF header.
func TestPasskeyEndpoints(t *testing.T) {
	e := newEnv(t, func(o *envOptions) { o.localhost = true })
	e.setupOwner()

	anon := e.client()
	anon.get("/login")
	if r := anon.postJSON("/account/passkeys/register/options", map[string]any{}, true); r.status != http.StatusSeeOther || !strings.HasPrefix(r.location(), "/login") {
		t.Fatalf("options without a session: %d %s", r.status, r.location())
	}

	c := e.client()
	c.signIn(ownerEmail, ownerPassword)
	expect(t, c.postJSON("/account/passkeys/register/options", map[string]any{}, false), http.StatusForbidden)
	if r := c.postRaw("/account/passkeys/register/options", "emergency=1&"+httpserver.CSRFField+"="+c.csrf(), nil); r.status != http.StatusUnsupportedMediaType {
		t.Fatalf("a plain form post: %d", r.status)
	}

	r := c.postJSON("/account/passkeys/register/options", map[string]any{"emergency": true}, true)
	if r.status != http.StatusOK {
		t.Fatalf("options: %d %s", r.status, r.body)
	}
	var begun struct {
		ChallengeID string          `json:"challenge_id"`
		Options     json.RawMessage `json:"options"`
	}
	if err := json.Unmarshal([]byte(r.body), &begun); err != nil || begun.ChallengeID == "" {
		t.Fatalf("options answer %s: %v", r.body, err)
	}
	var opts struct {
		PublicKey struct {
			RP struct {
				ID string `json:"id"`
			} `json:"rp"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(begun.Options, &opts); err != nil || opts.PublicKey.RP.ID != "localhost" {
		t.Fatalf("relying party is not localhost: %s (%v)", begun.Options, err)
	}
	auth := softauthn.New(e.publicURL)
	cred, err := auth.Create(begun.Options)
	if err != nil {
		t.Fatal(err)
	}
	finish := map[string]any{"challenge_id": begun.ChallengeID, "name": "Desk key", "credential": json.RawMessage(cred)}
	r = c.postJSON("/account/passkeys/register/finish", finish, true)
	if r.status != http.StatusOK || !strings.Contains(r.body, "passkey-added") {
		t.Fatalf("finish: %d %s", r.status, r.body)
	}
	// The same answer again: the challenge is spent.
	r = c.postJSON("/account/passkeys/register/finish", finish, true)
	if r.status != http.StatusBadRequest || !strings.Contains(r.body, "could not be added") {
		t.Fatalf("replayed finish: %d %s", r.status, r.body)
	}
	expect(t, c.get("/account?notice=passkey-added"), http.StatusOK, "Your passkey was added.", "Desk key", "Emergency sign-in")

	list, err := e.passkeys.List(t.Context(), mustAccountID(t, e))
	if err != nil || len(list) != 1 {
		t.Fatalf("stored passkeys: %v, %v", list, err)
	}
	id := list[0].ID
	if r := c.post("/account/passkeys/"+id+"/rename", url.Values{"name": {"Old key"}}); r.status != http.StatusSeeOther {
		t.Fatalf("rename: %d", r.status)
	}
	expect(t, c.get("/account"), http.StatusOK, "Old key")
	if r := c.post("/account/passkeys/"+id+"/remove", nil); r.status != http.StatusSeeOther {
		t.Fatalf("remove: %d", r.status)
	}
	expect(t, c.get("/account?notice=passkey-removed"), http.StatusOK, "Your passkey was removed.", "You have no passkeys yet.")
	if r := c.post("/account/passkeys/"+id+"/remove", nil); r.status != http.StatusNotFound {
		t.Fatalf("remove twice: %d", r.status)
	}
}

// TestPasskeysNeedADomainNamePage: on an IP-address public URL the page
// explains why there are no passkeys instead of offering a broken button.
func TestPasskeysNeedADomainNamePage(t *testing.T) {
	e := newEnv(t)
	e.setupOwner()
	c := e.client()
	c.signIn(ownerEmail, ownerPassword)
	r := c.get("/account")
	expect(t, r, http.StatusOK, "Passkeys need Gatehouse on a domain name")
	if strings.Contains(r.body, "passkey-add") {
		t.Error("the add-a-passkey form is offered where passkeys cannot work")
	}
}

func mustAccountID(t *testing.T, e *env) string {
	t.Helper()
	a, err := e.store.GetAccountByEmail(t.Context(), ownerEmail)
	if err != nil {
		t.Fatal(err)
	}
	return a.ID
}
