package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/gatehouse-id/gatehouse/internal/httpserver"
	"github.com/gatehouse-id/gatehouse/internal/testenv"
)

// TestBrowserPasskeyOnAccountPage adds a passkey on /account in a real
// Chromium, with Chromium's virtual authenticator (a platform
// authenticator that keeps discoverable credentials and verifies the
// user), and checks the person sees it listed as an emergency sign-in.
// Gatehouse runs at http://localhost:PORT: WebAuthn needs a domain name.
func TestBrowserPasskeyOnAccountPage(t *testing.T) {
	chromium := testenv.ChromiumPath(t)
	// A stand-in for the sign-in page's passkey endpoints (the sign-in
	// engine's to mount), so gatehousePasskeyLogin runs against the real
	// service and the real CSRF middleware.
	loginRoutes := func(e *env, mux *http.ServeMux) {
		challenge := ""
		mux.HandleFunc("POST /test/passkey-login/options", func(w http.ResponseWriter, r *http.Request) {
			opts, id, err := e.passkeys.BeginLogin(r.Context(), "")
			if err != nil {
				httpserver.WriteJSONError(w, http.StatusInternalServerError, "internal_error", err.Error())
				return
			}
			challenge = id
			httpserver.WriteJSON(w, http.StatusOK, map[string]any{"challenge_id": id, "options": json.RawMessage(opts)})
		})
		mux.HandleFunc("POST /test/passkey-login/finish", func(w http.ResponseWriter, r *http.Request) {
			var req struct {
				ChallengeID string          `json:"challenge_id"`
				Credential  json.RawMessage `json:"credential"`
			}
			if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.ChallengeID != challenge {
				httpserver.WriteJSONError(w, http.StatusBadRequest, "invalid_request", "bad request")
				return
			}
			got, err := e.passkeys.FinishLogin(r.Context(), req.ChallengeID, req.Credential)
			if err != nil {
				httpserver.WriteJSONError(w, http.StatusUnauthorized, "passkey_refused", err.Error())
				return
			}
			httpserver.WriteJSON(w, http.StatusOK, map[string]any{"account_id": got.AccountID, "emergency": got.Emergency})
		})
	}
	e := newEnv(t, func(o *envOptions) { o.localhost, o.routes = true, loginRoutes })
	if e.passkeys == nil {
		t.Fatalf("no passkey service for %s", e.publicURL)
	}
	_, owner := e.setupOwner()
	b := newBrowser(t, chromium)
	css := b.css

	virtualAuthenticator := chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if _, err := cdp.Call(ctx, tg, webauthn.Enable, webauthn.EnableParams{}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, tg, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
			Options: &webauthn.VirtualAuthenticatorOptions{
				Protocol:                    webauthn.AuthenticatorProtocolCtap2,
				Transport:                   webauthn.AuthenticatorTransportInternal,
				HasResidentKey:              true,
				HasUserVerification:         true,
				IsUserVerified:              true,
				AutomaticPresenceSimulation: true, // no omitempty: false would leave every ceremony waiting
			},
		})
		return err
	})
	b.do("sign in",
		chromedp.Navigate(e.publicURL+"/login"),
		chromedp.WaitVisible(css("#email")),
		chromedp.SendKeys(css("#email"), ownerEmail),
		chromedp.Click(css("main button[type=submit]")),
		chromedp.WaitVisible(css("#password")),
		chromedp.SendKeys(css("#password"), ownerPassword),
		chromedp.Click(css("main button[type=submit]")),
		chromedp.WaitVisible(css(".profile")),
	)
	b.do("virtual authenticator", virtualAuthenticator)
	b.do("open the passkey section",
		chromedp.Navigate(e.publicURL+"/account"),
		chromedp.WaitVisible(css("#passkey-add")),
	)
	if s := b.text("#passkeys"); !strings.Contains(s, "You have no passkeys yet.") {
		t.Fatalf("passkey section before adding one:\n%s", s)
	}
	b.do("add a passkey",
		chromedp.SendKeys(css("#passkey_name"), "Work laptop"),
		chromedp.Click(css("#passkey_emergency")),
		chromedp.Click(css("#passkey-add button[type=submit]")),
		chromedp.WaitVisible(css(".passkey-name")),
	)
	if s := b.text(".notice"); !strings.Contains(s, "Your passkey was added.") {
		t.Errorf("notice after adding = %q", s)
	}
	if s := b.text(".passkey"); !strings.Contains(s, "Work laptop") || !strings.Contains(s, "Emergency sign-in") || !strings.Contains(s, "last used never") {
		t.Errorf("listed passkey = %q", s)
	}
	total, emergency, err := e.passkeys.Count(context.Background(), owner.ID)
	if err != nil || total != 1 || emergency != 1 {
		t.Fatalf("stored passkeys: %d (%d emergency), %v", total, emergency, err)
	}
	if b.shots != "" {
		png, err := chromedp.Run(b.ctx, chromedp.Screenshot(css("#passkeys")))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(b.shots, "account-passkeys.png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// The login helper the sign-in page will use: a discoverable sign-in
	// with the passkey just added, through the browser's passkey API.
	var signedIn map[string]any
	b.do("sign in with the passkey (gatehousePasskeyLogin)", func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		var err error
		signedIn, err = chromedp.Evaluate[map[string]any](`gatehousePasskeyLogin("/test/passkey-login/options", "/test/passkey-login/finish", document.querySelector("#passkey-add"), {mediation: "optional"})`,
			chromedp.EvalAwaitPromise)(ctx, tg)
		return chromedp.Void{}, err
	})
	if signedIn["account_id"] != owner.ID || signedIn["emergency"] != true {
		t.Errorf("passkey sign-in answered %v, want the owner %s with an emergency passkey", signedIn, owner.ID)
	}

	// The same authenticator cannot add a second passkey for the same
	// account: the page says so instead of failing silently.
	b.do("add it again",
		chromedp.Click(css("#passkey-add button[type=submit]")),
		chromedp.WaitVisible(css("#passkey-error")),
	)
	if s := b.text("#passkey-error"); !strings.Contains(s, "already holds a passkey") {
		t.Errorf("second passkey on one authenticator: %q", s)
	}
}
