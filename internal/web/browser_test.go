package web_test

import (
	"bytes"
	"context"
	"io"
	"mime/quotedprintable"
	"net"
	netmail "net/mail"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	smtp "github.com/emersion/go-smtp"

	"github.com/gatehouse-id/gatehouse/internal/mail"
	"github.com/gatehouse-id/gatehouse/internal/testenv"
	"github.com/gatehouse-id/gatehouse/internal/testenv/browsertest"
)

// smtpCapture is an in-process SMTP server: a real protocol peer that keeps
// every message it accepts.
type smtpCapture struct {
	addr *net.TCPAddr
	got  chan capturedMail
}

type capturedMail struct {
	From, To string
	Data     []byte
}

func startSMTP(t *testing.T) *smtpCapture {
	t.Helper()
	c := &smtpCapture{got: make(chan capturedMail, 16)}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &smtpSession{c: c}, nil }))
	srv.Domain = "localhost"
	srv.ReadTimeout = 30 * time.Second
	srv.WriteTimeout = 30 * time.Second
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c.addr = l.Addr().(*net.TCPAddr)
	var wg sync.WaitGroup
	wg.Go(func() { _ = srv.Serve(l) })
	t.Cleanup(func() { _ = srv.Close(); wg.Wait() })
	return c
}

type smtpSession struct {
	c        *smtpCapture
	from, to string
}

func (s *smtpSession) Reset()        { s.from, s.to = "", "" }
func (s *smtpSession) Logout() error { return nil }
func (s *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}
func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = to
	return nil
}
func (s *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.c.got <- capturedMail{From: s.from, To: s.to, Data: b}
	return nil
}

// next returns the next captured message's recipient and decoded text.
func (c *smtpCapture) next(ctx context.Context, t *testing.T) (to, text string) {
	t.Helper()
	select {
	case m := <-c.got:
		msg, err := netmail.ReadMessage(bytes.NewReader(m.Data))
		if err != nil {
			t.Fatalf("captured mail does not parse: %v", err)
		}
		var body io.Reader = msg.Body
		if strings.EqualFold(msg.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
			body = quotedprintable.NewReader(msg.Body)
		}
		b, err := io.ReadAll(body)
		if err != nil {
			t.Fatal(err)
		}
		return m.To, string(b)
	case <-ctx.Done():
		t.Fatal("no mail reached the SMTP server")
		return "", ""
	}
}

// TestBrowserJourney walks the whole journey in a real Chromium: first
// admin, sign-out, identifier-first sign-in (with a wrong password on the
// way), forgotten password with the link read from a real SMTP exchange,
// a new password, and sign-in with it. Screenshots of each page go to
// $GATEHOUSE_SCREENSHOTS when set.
func TestBrowserJourney(t *testing.T) {
	chromium := testenv.ChromiumPath(t)
	smtpSrv := startSMTP(t)
	e := newEnv(t, func(o *envOptions) {
		o.mailer = func(string) mail.Sender {
			s, err := mail.NewSMTP(mail.SMTPConfig{
				Host: "127.0.0.1", Port: smtpSrv.addr.Port, Security: mail.SecurityNone,
				From: "Acme sign-in <no-reply@acme.example>",
			}, nil)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
	})
	b := newBrowser(t, chromium)
	ctx, deadline, do, textOf, path, shot, css := b.ctx, b.deadline, b.do, b.text, b.path, b.shot, b.css
	submit := css("main button[type=submit]")

	// 1. The first-admin link creates the owner and signs them in.
	link, err := e.accounts.EnsureSetupLink(deadline)
	if err != nil {
		t.Fatal(err)
	}
	do("open set-up link", chromedp.Navigate(link), chromedp.WaitVisible(css("#org_name")))
	shot("setup")
	do("fill set-up form",
		chromedp.SendKeys(css("#org_name"), orgName),
		chromedp.SendKeys(css("#display_name"), "Olivia Owner"),
		chromedp.SendKeys(css("#email"), ownerEmail),
		chromedp.SendKeys(css("#password"), ownerPassword),
		chromedp.SendKeys(css("#confirm"), ownerPassword),
		chromedp.Click(submit),
		chromedp.WaitVisible(css(".steps")),
	)
	// The owner lands in the console, with the next steps.
	if p := path(); p != "/admin" {
		t.Fatalf("after set-up: %s", p)
	}
	if n := textOf(".notice"); !strings.Contains(n, "Welcome") || !strings.Contains(n, "email domain") {
		t.Errorf("welcome notice = %q", n)
	}
	shot("setup-welcome")

	// 2. Sign out with the header button.
	// Wait for the sign-in page's email field, which /account does not
	// have: the welcome notice there would match ".notice" before the
	// navigation completes.
	do("sign out",
		chromedp.Click(css(".topbar-signout button")),
		chromedp.WaitVisible(css("#email")),
	)
	if n := textOf(".notice"); n != "You're signed out." {
		t.Errorf("sign-out notice = %q", n)
	}

	// 3. Identifier-first sign-in, with a wrong password first.
	do("open login", chromedp.Navigate(e.srv.URL+"/login"), chromedp.WaitVisible(css("#email")))
	shot("login-email")
	do("email step",
		chromedp.SendKeys(css("#email"), ownerEmail),
		chromedp.Click(submit),
		chromedp.WaitVisible(css("#password")),
	)
	shot("login-password")
	do("wrong password",
		chromedp.SendKeys(css("#password"), "not-the-password-1"),
		chromedp.Click(submit),
		chromedp.WaitVisible(css("#form-error p")),
	)
	if msg := textOf("#form-error p"); msg != "The email or password is incorrect." {
		t.Errorf("wrong-password message = %q", msg)
	}
	shot("login-wrong-password")
	do("right password",
		chromedp.SendKeys(css("#password"), ownerPassword),
		chromedp.Click(submit),
		chromedp.WaitVisible(css(".profile")),
	)
	shot("account-first")

	// 4. Sign out again and use "Forgot or never set a password?".
	do("sign out again", chromedp.Click(css(".topbar-signout button")), chromedp.WaitVisible(css(".notice")))
	do("to password step",
		chromedp.SendKeys(css("#email"), ownerEmail),
		chromedp.Click(submit),
		chromedp.WaitVisible(css("#password")),
		chromedp.Click(css(`a[href^="/forgot"]`)),
		chromedp.WaitVisible(css(`form[action="/forgot"]`)),
	)
	if v, err := chromedp.Run(ctx, chromedp.Value(css("#email"))); err != nil || v != ownerEmail {
		t.Errorf("forgot form email = %q, %v", v, err)
	}
	do("request reset", chromedp.Click(submit), chromedp.WaitVisible(css(".icon-badge")))
	if p := textOf("main p"); !strings.Contains(p, "If an account exists for that address, we've sent a link. It works for 30 minutes.") {
		t.Errorf("forgot-sent text = %q", p)
	}
	shot("forgot-sent")

	// 5. The link arrives over SMTP.
	to, body := smtpSrv.next(deadline, t)
	if to != ownerEmail {
		t.Errorf("reset mail to %q", to)
	}
	resetLink := linkIn(t, body)
	if !strings.HasPrefix(resetLink, e.srv.URL+"/reset?token=") {
		t.Fatalf("reset link %q does not point at the server", resetLink)
	}
	do("open reset link", chromedp.Navigate(resetLink), chromedp.WaitVisible(css("#password")))
	shot("reset")
	do("choose new password",
		chromedp.SendKeys(css("#password"), newPassword),
		chromedp.SendKeys(css("#confirm"), newPassword),
		chromedp.Click(submit),
		chromedp.WaitVisible(css(`a[href^="/login"]`)),
	)
	if h := textOf("h1"); h != "Password changed" {
		t.Errorf("after reset: %q", h)
	}
	shot("reset-done")

	// 6. Sign in with the new password.
	do("sign in with new password",
		chromedp.Click(css(`main a[href^="/login"]`)),
		chromedp.WaitVisible(css("#email")),
	)
	if v, _ := chromedp.Run(ctx, chromedp.Value(css("#email"))); v != ownerEmail {
		t.Errorf("login email after reset = %q", v)
	}
	do("password step with new password",
		chromedp.Click(submit),
		chromedp.WaitVisible(css("#password")),
		chromedp.SendKeys(css("#password"), newPassword),
		chromedp.Click(submit),
		chromedp.WaitVisible(css(".profile")),
	)
	if p := path(); p != "/account" {
		t.Fatalf("after signing in with the new password: %s", p)
	}
	// A second device, so the sessions list has someone to sign out.
	laptop := e.client()
	laptop.ua = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0"
	laptop.signIn(ownerEmail, newPassword)
	do("reload account", chromedp.Reload(), chromedp.WaitVisible(css(".sessions-all")))
	if s := textOf(".sessions"); !strings.Contains(s, "This device") || !strings.Contains(s, "Chrome on Linux") || !strings.Contains(s, "Firefox on Windows") {
		t.Errorf("sessions list = %q", s)
	}
	shot("account")

	// 7. The same pages on a phone and in dark mode, for the screenshots.
	if b.shots != "" {
		phone := chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateScale(2))
		do("phone account", phone, chromedp.Reload(), chromedp.WaitVisible(css(".profile")))
		shot("account-phone")
		do("sign out on phone", chromedp.Click(css(".topbar-signout button")), chromedp.WaitVisible(css(".notice")))
		do("phone login", chromedp.Navigate(e.srv.URL+"/login"), chromedp.WaitVisible(css("#email")))
		shot("login-phone")
		do("phone password step",
			chromedp.SendKeys(css("#email"), "someone.with.a.rather.long.address@subsidiary.acme.example"),
			chromedp.Click(submit),
			chromedp.WaitVisible(css("#password")),
			chromedp.SendKeys(css("#password"), "wrong-password-22"),
			chromedp.Click(submit),
			chromedp.WaitVisible(css("#form-error p")),
		)
		shot("login-wrong-password-phone")
		dark := chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
				Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}},
			})
			return err
		})
		do("dark login", dark, chromedp.Navigate(e.srv.URL+"/login"), chromedp.WaitVisible(css("#email")))
		shot("login-dark-phone")
		do("dark desktop", chromedp.EmulateViewport(1280, 900), chromedp.Navigate(e.srv.URL+"/forgot"), chromedp.WaitVisible(css("#email")))
		shot("forgot-dark")
		do("404", chromedp.Navigate(e.srv.URL+"/no-such-page"), chromedp.WaitVisible(css(".status-code")))
		shot("not-found-dark")
	}
}

// browser is a headless Chromium for one test (browsertest.Browser), with
// the short names the browser tests here use.
type browser struct {
	*browsertest.Browser
	t        *testing.T
	ctx      context.Context
	deadline context.Context
	shots    string
}

// newBrowser starts Chromium at chromium (testenv.ChromiumPath).
func newBrowser(t *testing.T, chromium string) *browser {
	t.Helper()
	b := browsertest.New(t, chromium)
	return &browser{Browser: b, t: t, ctx: b.Ctx, deadline: b.Deadline, shots: b.Shots}
}

func (b *browser) do(step string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	b.Do(step, actions...)
}
func (b *browser) text(sel string) string    { b.t.Helper(); return b.Text(sel) }
func (b *browser) location() *url.URL        { b.t.Helper(); return b.Location() }
func (b *browser) path() string              { b.t.Helper(); return b.Path() }
func (b *browser) shot(name string)          { b.t.Helper(); b.Shot(name) }
func (b *browser) css(s string) chromedp.CSS { return chromedp.CSS(s) }

// signInOwner signs the set-up owner (env.setupOwner) in through the email
// and password steps at base, and waits for their account page.
func (b *browser) signInOwner(base string) {
	b.t.Helper()
	css := b.css
	b.do("sign in",
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(css("#email")),
		chromedp.SendKeys(css("#email"), ownerEmail),
		chromedp.Click(css("main button[type=submit]")),
		chromedp.WaitVisible(css("#password")),
		chromedp.SendKeys(css("#password"), ownerPassword),
		chromedp.Click(css("main button[type=submit]")),
		chromedp.WaitVisible(css(".profile")),
	)
}
