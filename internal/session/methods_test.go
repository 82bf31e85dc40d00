package session

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

// A session remembers how it was made, in storage and on every node, so the
// OIDC provider can tell apps (amr, auth_time) and /account can tell people.
func TestSessionRecordsHowItWasMade(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, s storage.Store) {
		ctx := context.Background()
		c := newClock()
		svc := newService(s, c)
		a := seedAccount(t, s, c.Now())
		earlier := c.Now().Add(-90 * time.Second)
		methods := []string{MethodPassword, MethodOTP, MethodMFA}
		tok, sess, err := svc.Start(ctx, StartParams{Account: a, Methods: methods, AuthTime: earlier})
		if err != nil {
			t.Fatal(err)
		}
		methods[0] = "tampered" // the caller's slice is not what the session holds
		if !slices.Equal(sess.AMR, []string{"pwd", "otp", "mfa"}) || sess.Method != "password" || !sess.AuthTime.Equal(earlier) {
			t.Fatalf("started session: Method %q, AMR %q, AuthTime %v", sess.Method, sess.AMR, sess.AuthTime)
		}
		for name, node := range map[string]*Service{"this node": svc, "another node": newService(s, c)} {
			v := mustValidate(t, node, tok)
			if got := v.Methods(); !slices.Equal(got, []string{"pwd", "otp", "mfa"}) || !v.AuthTime().Equal(earlier) {
				t.Fatalf("%s: Methods %q, AuthTime %v", name, got, v.AuthTime())
			}
			v.Methods()[0] = "x" // a copy: the cached session keeps its methods
			if got := mustValidate(t, node, tok).Methods(); got[0] != "pwd" {
				t.Fatalf("%s: changing Methods' result changed the session: %q", name, got)
			}
		}
		ev := auditEvents(t, s, a.OrgID, "login.success")[0]
		if ev.Details["amr"] != "pwd otp mfa" || ev.Details["auth_time"] != "2030-01-07T08:58:30Z" {
			t.Fatalf("login.success details = %v", ev.Details)
		}

		// SSO: the connection and the method, with AuthTime now when not given.
		_, sess, err = svc.Start(ctx, StartParams{Account: a, Methods: []string{MethodSSO}, ConnectionID: "conn-1"})
		if err != nil {
			t.Fatal(err)
		}
		if sess.Method != "sso" || !sess.AuthTime.Equal(c.Now()) || sess.ConnectionID != "conn-1" {
			t.Fatalf("SSO session: Method %q, AuthTime %v, ConnectionID %q", sess.Method, sess.AuthTime, sess.ConnectionID)
		}
		// An IdP whose clock runs a little ahead: the authentication is now,
		// never later.
		_, sess, err = svc.Start(ctx, StartParams{Account: a, Methods: []string{MethodSSO}, AuthTime: c.Now().Add(time.Minute)})
		if err != nil || !sess.AuthTime.Equal(c.Now()) {
			t.Fatalf("AuthTime a minute ahead: %v, %v; want now", sess.AuthTime, err)
		}
	})
}

// Callers that pass only the older Method get the methods it stands for.
func TestMethodAloneStandsForItsMethods(t *testing.T) {
	s := sqltest.NewSQLite(t)
	c := newClock()
	svc := newService(s, c)
	a := seedAccount(t, s, c.Now())
	for method, want := range map[string][]string{
		"password": {"pwd"}, "setup": {"pwd"}, "reset": {"pwd"}, "sso": {"sso"}, "recovery": {"recovery"},
	} {
		_, sess, err := svc.Start(context.Background(), StartParams{Account: a, Method: method})
		if err != nil {
			t.Fatalf("Start(Method %q): %v", method, err)
		}
		stored, err := s.GetSession(context.Background(), sess.ID)
		if err != nil {
			t.Fatal(err)
		}
		if stored.Method != method || !slices.Equal(stored.AMR, want) {
			t.Errorf("Method %q stored as %q with AMR %q, want %q", method, stored.Method, stored.AMR, want)
		}
	}
}

// A programming error must not create a session that claims a method
// nobody implemented, twice the same one, or an authentication in the
// future: Start fails and nothing is written.
func TestStartRefusesUnknownMethods(t *testing.T) {
	s := sqltest.NewSQLite(t)
	c := newClock()
	svc := newService(s, c)
	a := seedAccount(t, s, c.Now())
	for name, p := range map[string]StartParams{
		"no method at all":        {Account: a},
		"unknown legacy method":   {Account: a, Method: "magic"},
		"unknown method":          {Account: a, Methods: []string{"pwd", "telepathy"}},
		"upper case":              {Account: a, Methods: []string{"PWD"}},
		"empty name":              {Account: a, Methods: []string{""}},
		"listed twice":            {Account: a, Methods: []string{"pwd", "otp", "pwd"}},
		"too many":                {Account: a, Methods: []string{"pwd", "otp", "hwk", "swk", "user", "pin", "mfa", "sso", "recovery"}},
		"authenticated in future": {Account: a, Methods: []string{"pwd"}, AuthTime: c.Now().Add(3*time.Minute + time.Second)},
	} {
		if _, _, err := svc.Start(context.Background(), p); err == nil || !strings.HasPrefix(err.Error(), "session: start: ") {
			t.Errorf("%s: Start = %v, want an error", name, err)
		}
	}
	if list, err := s.ListSessions(context.Background(), a.ID, c.Now()); err != nil || len(list) != 0 {
		t.Fatalf("sessions after refused starts: %d, %v", len(list), err)
	}
	if evs := auditEvents(t, s, a.OrgID, "login.success"); len(evs) != 0 {
		t.Fatalf("refused starts wrote %d login.success events", len(evs))
	}
}
