package httpserver_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/httpserver"
)

type member struct {
	Email string `json:"email"`
	Role  string `json:"role"`
	Attrs struct {
		Map map[string]string `json:"map"`
	} `json:"attrs"`
}

// A body a proxy or WAF in front of Gatehouse reads differently from Go
// must be refused, not guessed at: one without the JSON media type (a
// cross-site form post, text/plain) and one naming a field twice (the
// first "role" is what a filter checks, the last is what Go keeps).
func TestDecodeJSONRefusesAmbiguousBodies(t *testing.T) {
	cases := []struct {
		name, ctype, body string
		unsupported       bool   // 415
		want              string // words the 400 message must contain
	}{
		{"no content type", "", `{"email":"a@b.test"}`, true, ""},
		{"form post", "application/x-www-form-urlencoded", `{"email":"a@b.test"}`, true, ""},
		{"text/plain (simple CORS request)", "text/plain", `{"email":"a@b.test"}`, true, ""},
		{"json look-alike media type", "application/jsonx", `{"email":"a@b.test"}`, true, ""},
		{"not UTF-8", "application/json; charset=latin1", `{"email":"a@b.test"}`, true, ""},
		{"duplicate key", "application/json", `{"role":"member","email":"a@b.test","role":"owner"}`, false, `"role"`},
		{"duplicate key in another case", "application/json", `{"role":"member","Role":"owner"}`, false, `"Role"`},
		{"duplicate nested key", "application/json", `{"attrs":{"map":{"email":"x","email":"y"}}}`, false, `"email"`},
		{"duplicate key inside an array", "application/json", `{"attrs":{"map":{}},"x":[{"a":1,"a":2}]}`, false, `"a"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/api/v1/members", strings.NewReader(c.body))
			if c.ctype != "" {
				req.Header.Set("Content-Type", c.ctype)
			}
			var m member
			err := httpserver.DecodeJSON(httptest.NewRecorder(), req, &m)
			if err == nil {
				t.Fatalf("accepted; decoded %+v", m)
			}
			if got := errors.Is(err, httpserver.ErrUnsupportedMediaType); got != c.unsupported {
				t.Fatalf("unsupported media type = %v, want %v (%v)", got, c.unsupported, err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not name %s", err, c.want)
			}
		})
	}
}

func TestDecodeJSONAcceptsPlainJSON(t *testing.T) {
	for _, ctype := range []string{"application/json", "application/json; charset=utf-8", "Application/JSON; charset=UTF-8"} {
		req := httptest.NewRequest(http.MethodPost, "/api/v1/members",
			strings.NewReader(`{"email":"a@b.test","role":"member","attrs":{"map":{"email":"mail","groups":"g"}}}`))
		req.Header.Set("Content-Type", ctype)
		var m member
		if err := httpserver.DecodeJSON(httptest.NewRecorder(), req, &m); err != nil {
			t.Fatalf("%s: %v", ctype, err)
		}
		if m.Email != "a@b.test" || m.Role != "member" || m.Attrs.Map["email"] != "mail" {
			t.Fatalf("%s: decoded %+v", ctype, m)
		}
	}
}
