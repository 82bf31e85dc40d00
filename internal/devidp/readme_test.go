package devidp

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/saml"
)

// The README's "Try SSO locally" tells a newcomer what the development IdP
// asks: an email and a password, then **Sign in**, then **Continue** on a
// page of its own. The pages keep saying exactly that.
func TestPagesMatchTheReadmeWalkthrough(t *testing.T) {
	_, ts := startIdP(t, nil)
	md := fetchMetadata(t, ts)
	_, login := startLogin(t, ts, md, acsURL, saml.NameIDFormatEmailAddress)
	for _, want := range []string{`<label for="email">Email</label>`, `<label for="password">Password</label>`, `<button type="submit">Sign in</button>`} {
		if !strings.Contains(login.body, want) {
			t.Errorf("sign-in page lacks %s", want)
		}
	}
	done := signIn(t, ts, login, "alice@example.com", "correct horse")
	if done.status != http.StatusOK || !strings.Contains(done.body, ">Continue</button>") || strings.Contains(done.body, `name="password"`) {
		t.Fatalf("after Sign in: status %d, want a Continue button and no password field\n%s", done.status, done.body)
	}
}
