package oidc_test

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-id/gatehouse/internal/apps"
	"github.com/gatehouse-id/gatehouse/internal/secretbox"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// TestSigningKeys: an app's algorithm, rotation on the provider's clock,
// and private keys sealed at rest.
func TestSigningKeys(t *testing.T) {
	g0 := startClocked(t)
	rs := g0.app(g0.org.ID, apps.Input{Name: "RSA app", Scopes: []string{"email"}})
	es := g0.app(g0.org.ID, apps.Input{Name: "EC app", Scopes: []string{"email"}, SigningAlg: "ES256"})
	check := func(name string, fn func(t *testing.T, g *clocked)) {
		t.Run(name, func(t *testing.T) { fn(t, g0.in(t)) })
	}

	check("an ES256 app gets ES256 ID tokens go-oidc verifies", func(t *testing.T, g *clocked) {
		raw := str(g.signedIn(g.browser(), es, "openid email"), "id_token")
		if alg, _ := header(t, raw); alg != "ES256" {
			t.Fatalf("alg %s for an ES256 app", alg)
		}
		if _, err := g.verifier(es.ClientID, "ES256").Verify(t.Context(), raw); err != nil {
			t.Fatalf("go-oidc (ES256 only) refused it: %v", err)
		}
		raw = str(g.signedIn(g.browser(), rs, "openid email"), "id_token")
		if alg, _ := header(t, raw); alg != "RS256" {
			t.Fatalf("alg %s for an app without a signing algorithm", alg)
		}
		if _, err := g.verifier(rs.ClientID, "RS256").Verify(t.Context(), raw); err != nil {
			t.Fatalf("go-oidc (RS256 only) refused it: %v", err)
		}
	})

	check("keys rotate on the clock and retired ones stay until their tokens expired", func(t *testing.T, g *clocked) {
		rotation := g.App.Config.OIDC.KeyRotation
		ctx := t.Context()
		// What serve's key loop does on each tick.
		tick := func() {
			if err := g.App.OIDC.EnsureKeys(ctx); err != nil {
				t.Fatal(err)
			}
		}
		signIn := func() (string, string) {
			raw := str(g.signedIn(g.browser(), rs, "openid"), "id_token")
			_, kid := header(t, raw)
			return raw, kid
		}
		// go-oidc on the wall clock: op stamps exp from it (see the
		// conformance test), and this test moves the provider's clock by
		// weeks.
		verify := func(raw string) error {
			p, err := gooidc.NewProvider(gooidc.InsecureIssuerURLContext(ctx, g.URL), g.URL)
			if err != nil {
				t.Fatal(err)
			}
			_, err = p.Verifier(&gooidc.Config{ClientID: rs.ClientID}).Verify(ctx, raw)
			return err
		}
		tick()
		oldToken, oldKid := signIn()

		// In the last quarter of its life the next key is published, but
		// the old one still signs.
		g.clock.Advance(rotation * 8 / 10)
		tick()
		if _, kid := signIn(); kid != oldKid {
			t.Fatalf("a new key (%s) signs before the old one's time is up", kid)
		}
		kids := publishedKids(t, g.URL, "RS256")
		if len(kids) != 2 || !slices.Contains(kids, oldKid) {
			t.Fatalf("RS256 keys published before the switch: %v (old %s)", kids, oldKid)
		}

		// After the rotation period a new key signs; the old one stays
		// published, and its tokens still verify.
		g.clock.Advance(rotation*2/10 + time.Minute)
		tick()
		newToken, newKid := signIn()
		if newKid == oldKid || !slices.Contains(kids, newKid) {
			t.Fatalf("after rotation the key %s signs (old %s, published before %v)", newKid, oldKid, kids)
		}
		if kids := publishedKids(t, g.URL, "RS256"); !slices.Contains(kids, oldKid) || !slices.Contains(kids, newKid) {
			t.Fatalf("right after rotation the key set is %v", kids)
		}
		if err := verify(oldToken); err != nil {
			t.Fatalf("a token of the retired key no longer verifies: %v", err)
		}
		if err := verify(newToken); err != nil {
			t.Fatalf("a token of the new key does not verify: %v", err)
		}

		// Once no token it signed can be alive (a day: the longest ID
		// token lifetime an app may have), it leaves the key set.
		g.clock.Advance(apps.MaxTokenTTL + time.Minute)
		tick()
		if kids := publishedKids(t, g.URL, "RS256"); slices.Contains(kids, oldKid) || !slices.Contains(kids, newKid) {
			t.Fatalf("a day after rotation the key set is %v (old %s, new %s)", kids, oldKid, newKid)
		}
		if err := verify(oldToken); err == nil {
			t.Fatal("a token of a removed key still verifies")
		}
	})

	check("private keys are sealed at rest", func(t *testing.T, g *clocked) {
		keys, err := g.App.Store.ListOIDCSigningKeys(t.Context(), g.clock.Now())
		if err != nil || len(keys) == 0 {
			t.Fatalf("signing keys: %v, %v", keys, err)
		}
		other, err := secretbox.New(make([]byte, 32))
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			assertSealed(t, k)
			if _, err := other.Open(k.SealedKey, "oidc signing key"); err == nil {
				t.Errorf("key %s opens with another secret key", k.ID)
			}
			var jwk map[string]any
			if err := json.Unmarshal([]byte(k.PublicJWK), &jwk); err != nil {
				t.Fatal(err)
			}
			if _, ok := jwk["d"]; ok {
				t.Errorf("key %s: the stored public JWK has the private exponent", k.ID)
			}
		}
	})
}

// assertSealed fails unless k's stored private key is neither a key nor
// one in a common encoding.
func assertSealed(t *testing.T, k storage.OIDCSigningKey) {
	t.Helper()
	s := k.SealedKey
	if strings.Contains(s, "PRIVATE KEY") || strings.Contains(s, `"d"`) {
		t.Errorf("key %s is stored as PEM or JWK: %.40s…", k.ID, s)
	}
	if b, _ := pem.Decode([]byte(s)); b != nil {
		t.Errorf("key %s is stored as PEM", k.ID)
	}
	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON([]byte(s)); err == nil {
		t.Errorf("key %s is stored as a JWK", k.ID)
	}
	for _, raw := range [][]byte{[]byte(s), decodeAny(s)} {
		if _, err := x509.ParsePKCS8PrivateKey(raw); err == nil {
			t.Errorf("key %s is stored as PKCS #8", k.ID)
		}
		if _, err := x509.ParsePKCS1PrivateKey(raw); err == nil {
			t.Errorf("key %s is stored as PKCS #1", k.ID)
		}
		if _, err := x509.ParseECPrivateKey(raw); err == nil {
			t.Errorf("key %s is stored as SEC 1", k.ID)
		}
	}
}

func decodeAny(s string) []byte {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b
		}
	}
	return nil
}

// header returns a JWS's alg and kid.
func header(t *testing.T, raw string) (string, string) {
	t.Helper()
	h, _, _ := strings.Cut(raw, ".")
	b, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		t.Fatalf("JWS header: %v", err)
	}
	var v struct{ Alg, Kid string }
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v.Alg, v.Kid
}

// publishedKids are the key IDs of alg in the provider's key set.
func publishedKids(t *testing.T, base, alg string) []string {
	t.Helper()
	res, err := http.Get(base + "/oidc/keys")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(res.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, k := range set.Keys {
		if k.Algorithm == alg {
			out = append(out, k.KeyID)
		}
	}
	return out
}
