package sso

import (
	"github.com/gatehouse-id/gatehouse/internal/authz"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"regexp"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/devidp"
	"github.com/gatehouse-id/gatehouse/internal/idp"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

var (
	hiddenRE = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
	actionRE = regexp.MustCompile(`<form method="post" action="([^"]*)">`)
)

// form fetches a page and returns its form's action and hidden fields.
func form(t *testing.T, resp *http.Response, err error) (string, url.Values) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %d\n%s", resp.Request.URL, resp.StatusCode, b)
	}
	v := url.Values{}
	for _, m := range hiddenRE.FindAllStringSubmatch(string(b), -1) {
		v.Add(m[1], html.UnescapeString(m[2]))
	}
	action := ""
	if m := actionRE.FindStringSubmatch(string(b)); m != nil {
		action = html.UnescapeString(m[1])
	}
	return action, v
}

// TestDevIdPRoundTrip signs in through the development IdP's real HTTP
// handler: the connection is created from its metadata URL, Begin's
// redirect is followed, the IdP's sign-in form is posted, and the
// SAMLResponse its page would post to our ACS goes to Complete.
func TestDevIdPRoundTrip(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		ts := httptest.NewUnstartedServer(nil)
		dev, err := devidp.New(devidp.Config{
			BaseURL: "http://" + ts.Listener.Addr().String(),
			Users: []devidp.User{{Email: "erin@corp.example", Password: "correct horse", GivenName: "Erin",
				Surname: "Example", Groups: []string{"admins", "staff"}}},
			Key: testIdPKey(t).Key, Cert: testIdPKey(t).Cert, Now: e.clock.Now,
			AllowedACSHosts: []string{"gatehouse.test"},
		})
		if err != nil {
			t.Fatal(err)
		}
		ts.Config.Handler = dev.Handler()
		ts.Start()
		t.Cleanup(ts.Close)

		conn, err := e.idps.Create(authz.AsCLI(e.ctx, "test"), e.orgA, idp.CreateInput{Name: "Dev IdP", MetadataURL: dev.MetadataURL()})
		if err != nil {
			t.Fatal(err)
		}
		e.conn = conn
		l := e.begin("/apps/board", true)

		resp, err := ts.Client().Get(l.redirect)
		_, hidden := form(t, resp, err)
		hidden.Set("email", "erin@corp.example")
		hidden.Set("password", "correct horse")
		resp, err = ts.Client().PostForm(ts.URL+"/sso", hidden)
		action, post := form(t, resp, err)
		if action != e.idps.ACSURL(conn) || post.Get("SAMLResponse") == "" || post.Get("RelayState") != l.relay {
			t.Fatalf("IdP posts to %q with %v", action, post)
		}

		res, err := e.svc.Complete(e.ctx, conn.Slug, post.Get("SAMLResponse"), post.Get("RelayState"), l.secret)
		if err != nil {
			t.Fatal(err)
		}
		if res.Account.Email != "erin@corp.example" || !res.JIT || res.ReturnTo != "/apps/board" || !res.Test ||
			res.Account.DisplayName != "Erin Example" {
			t.Errorf("result = %+v", res)
		}
		// A test reads the groups and changes no account.
		if !reflect.DeepEqual(res.Groups, []string{"admins", "staff"}) || res.Account.ID != "" {
			t.Errorf("groups = %v, account ID %q", res.Groups, res.Account.ID)
		}
		if c, _ := e.st.GetIdPConnection(e.ctx, conn.ID); c.TestedAt.IsZero() {
			t.Error("test sign-in through the dev IdP did not mark the connection tested")
		}
		// The page can be posted only once.
		e.rejected(ReasonRequestReused, func() (Result, error) {
			return e.svc.Complete(e.ctx, conn.Slug, post.Get("SAMLResponse"), post.Get("RelayState"), l.secret)
		})
	})
}
