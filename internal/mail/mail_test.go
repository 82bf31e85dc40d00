package mail

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"mime"
	"mime/quotedprintable"
	"net"
	netmail "net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// received is one message as the test SMTP server saw it.
type received struct {
	From, To string
	Data     []byte
	TLS      bool   // the transaction ran over TLS
	AuthUser string // "" when the client did not authenticate
}

// testServer is a real SMTP peer (emersion/go-smtp) on 127.0.0.1.
type testServer struct {
	Addr     string
	Port     int
	CAFile   string // PEM of the self-signed certificate, when TLS is on
	mu       sync.Mutex
	messages []received
}

func (s *testServer) Messages() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.messages...)
}

type serverOptions struct {
	startTLS   bool // offer STARTTLS
	implicit   bool // the listener speaks TLS from the first byte
	user, pass string
	insecure   bool // allow AUTH without TLS
}

// newCert makes a self-signed certificate for 127.0.0.1 and localhost and
// writes it as PEM into dir.
func newCert(t *testing.T, dir string) (tls.Certificate, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "test smtp"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, caFile
}

func startServer(t *testing.T, o serverOptions) *testServer {
	t.Helper()
	ts := &testServer{}
	be := smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &testSession{srv: ts, conn: c, opts: o}, nil
	})
	srv := smtp.NewServer(be)
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = o.insecure
	srv.ErrorLog = discardLogger{}
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second

	var l net.Listener
	var err error
	if o.startTLS || o.implicit {
		cert, caFile := newCert(t, t.TempDir())
		ts.CAFile = caFile
		cfg := &tls.Config{Certificates: []tls.Certificate{cert}}
		if o.startTLS {
			srv.TLSConfig = cfg
		}
		if o.implicit {
			l, err = tls.Listen("tcp", "127.0.0.1:0", cfg)
		}
	}
	if l == nil && err == nil {
		l, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatal(err)
	}
	ts.Addr = l.Addr().String()
	ts.Port = l.Addr().(*net.TCPAddr).Port
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return ts
}

type discardLogger struct{}

func (discardLogger) Printf(string, ...any) {}
func (discardLogger) Println(...any)        {}

type testSession struct {
	srv      *testServer
	conn     *smtp.Conn
	opts     serverOptions
	authUser string
	cur      received
}

func (s *testSession) AuthMechanisms() []string {
	if s.opts.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *testSession) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != s.opts.user || password != s.opts.pass {
			return errors.New("invalid username or password")
		}
		s.authUser = username
		return nil
	}), nil
}

func (s *testSession) Mail(from string, _ *smtp.MailOptions) error {
	if s.opts.user != "" && s.authUser == "" {
		return smtp.ErrAuthRequired
	}
	s.cur = received{From: from, AuthUser: s.authUser}
	_, s.cur.TLS = s.conn.TLSConnectionState()
	return nil
}

func (s *testSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.cur.To = to
	return nil
}

func (s *testSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.Data = b
	s.srv.mu.Lock()
	s.srv.messages = append(s.srv.messages, s.cur)
	s.srv.mu.Unlock()
	return nil
}

func (s *testSession) Reset()        {}
func (s *testSession) Logout() error { return nil }

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// parsed decodes a received message the way a mail client would.
func parsed(t *testing.T, data []byte) (netmail.Header, string) {
	t.Helper()
	m, err := netmail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("message does not parse: %v\n%s", err, data)
	}
	body, err := io.ReadAll(quotedprintable.NewReader(m.Body))
	if err != nil {
		t.Fatalf("body is not quoted-printable: %v", err)
	}
	return m.Header, string(body)
}

func TestSMTPDelivery(t *testing.T) {
	longLink := "https://gatehouse.example/reset?token=" + strings.Repeat("x", 120)
	text := "Hello Zoë,\n\nset your password: " + longLink + "\n.\nA line with a dot alone above.\n"

	tests := []struct {
		name     string
		opts     serverOptions
		security string
		user     string
		pass     string
		wantTLS  bool
	}{
		{name: "plain relay", opts: serverOptions{}, security: "none"},
		{name: "plain relay on localhost with AUTH", opts: serverOptions{user: "relay", pass: "s3cret", insecure: true}, security: "none", user: "relay", pass: "s3cret"},
		{name: "STARTTLS with AUTH PLAIN", opts: serverOptions{startTLS: true, user: "alice", pass: "pa55"}, security: "starttls", user: "alice", pass: "pa55", wantTLS: true},
		{name: "implicit TLS with AUTH PLAIN", opts: serverOptions{implicit: true, user: "bob", pass: "pw"}, security: "tls", user: "bob", pass: "pw", wantTLS: true},
		{name: "STARTTLS without AUTH", opts: serverOptions{startTLS: true}, security: "", wantTLS: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startServer(t, tt.opts)
			s, err := NewSMTP(SMTPConfig{
				Host: "127.0.0.1", Port: srv.Port, Security: tt.security,
				Username: tt.user, Password: tt.pass,
				From:        "Gatehouse <no-reply@corp.example>",
				RootCAsFile: srv.CAFile,
			}, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			err = s.Send(ctxT(t), Message{To: "zoe@corp.example", Subject: "Set your password", Text: text})
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			msgs := srv.Messages()
			if len(msgs) != 1 {
				t.Fatalf("server got %d messages, want 1", len(msgs))
			}
			got := msgs[0]
			if got.From != "no-reply@corp.example" || got.To != "zoe@corp.example" {
				t.Errorf("envelope = %q -> %q", got.From, got.To)
			}
			if got.TLS != tt.wantTLS {
				t.Errorf("TLS = %v, want %v", got.TLS, tt.wantTLS)
			}
			if got.AuthUser != tt.user {
				t.Errorf("authenticated as %q, want %q", got.AuthUser, tt.user)
			}
			h, body := parsed(t, got.Data)
			for k, want := range map[string]string{
				"From":                      `"Gatehouse" <no-reply@corp.example>`,
				"To":                        "<zoe@corp.example>",
				"Subject":                   "Set your password",
				"MIME-Version":              "1.0",
				"Content-Type":              "text/plain; charset=utf-8",
				"Content-Transfer-Encoding": "quoted-printable",
			} {
				if h.Get(k) != want {
					t.Errorf("%s = %q, want %q", k, h.Get(k), want)
				}
			}
			if _, err := h.Date(); err != nil {
				t.Errorf("Date: %v", err)
			}
			if id := h.Get("Message-ID"); !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@corp.example>") {
				t.Errorf("Message-ID = %q", id)
			}
			if strings.ReplaceAll(body, "\r\n", "\n") != text {
				t.Errorf("body = %q, want %q", body, text)
			}
			for _, line := range strings.Split(string(got.Data), "\r\n") {
				if len(line) > 78 {
					t.Errorf("line longer than 78 characters: %q", line)
				}
			}
		})
	}
}

func TestSMTPFailures(t *testing.T) {
	noTLS := startServer(t, serverOptions{})
	withTLS := startServer(t, serverOptions{startTLS: true, user: "alice", pass: "right"})

	tests := []struct {
		name    string
		srv     *testServer
		cfg     SMTPConfig
		wantErr string
	}{
		{
			name:    "STARTTLS required but not offered",
			srv:     noTLS,
			cfg:     SMTPConfig{Security: "starttls"},
			wantErr: "does not offer STARTTLS",
		},
		{
			name:    "wrong password",
			srv:     withTLS,
			cfg:     SMTPConfig{Security: "starttls", Username: "alice", Password: "wrong"},
			wantErr: "AUTH",
		},
		{
			name:    "untrusted certificate",
			srv:     withTLS,
			cfg:     SMTPConfig{Security: "starttls", RootCAsFile: "-"},
			wantErr: "certificate",
		},
		{
			name:    "credentials configured but no AUTH offered",
			srv:     noTLS,
			cfg:     SMTPConfig{Security: "none", Username: "x", Password: "y"},
			wantErr: "does not offer AUTH",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.Host, cfg.Port, cfg.From = "127.0.0.1", tt.srv.Port, "no-reply@corp.example"
			switch cfg.RootCAsFile {
			case "-":
				cfg.RootCAsFile = "" // the system pool does not know the test CA
			default:
				cfg.RootCAsFile = tt.srv.CAFile
			}
			s, err := NewSMTP(cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			before := len(tt.srv.Messages())
			err = s.Send(ctxT(t), Message{To: "a@corp.example", Subject: "s", Text: "t"})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Send error = %v, want one mentioning %q", err, tt.wantErr)
			}
			if n := len(tt.srv.Messages()); n != before {
				t.Errorf("server accepted a message despite the error")
			}
		})
	}
}

func TestSMTPHeaderInjectionRejected(t *testing.T) {
	srv := startServer(t, serverOptions{})
	s, err := NewSMTP(SMTPConfig{Host: "127.0.0.1", Port: srv.Port, Security: "none", From: "no-reply@corp.example"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []Message{
		{To: "a@corp.example\r\nBcc: victim@evil.example", Subject: "s"},
		{To: "a@corp.example\nBcc: victim@evil.example", Subject: "s"},
		{To: "a@corp.example", Subject: "hi\r\nBcc: victim@evil.example"},
		{To: "a@corp.example", Subject: "hi\nContent-Type: text/html"},
		{To: "a@corp.example", Subject: "hi\rX: y"},
		{To: "a@corp.example, b@corp.example", Subject: "two recipients"},
		{To: "not an address", Subject: "s"},
	} {
		err := s.Send(ctxT(t), m)
		if !errors.Is(err, ErrInvalidMessage) {
			t.Errorf("Send(%q, %q) = %v, want ErrInvalidMessage", m.To, m.Subject, err)
		}
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("server received %d messages", n)
	}

	for _, from := range []string{"a@corp.example\r\nBcc: x@evil.example", "", "nonsense"} {
		if _, err := NewSMTP(SMTPConfig{Host: "127.0.0.1", Security: "none", From: from}, nil); err == nil {
			t.Errorf("NewSMTP accepted From %q", from)
		}
	}
}

func TestSMTPNonASCIISubjectRoundTrips(t *testing.T) {
	srv := startServer(t, serverOptions{})
	s, err := NewSMTP(SMTPConfig{Host: "127.0.0.1", Port: srv.Port, Security: "none", From: "Gâtehouse Çorp <no-reply@corp.example>"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	subject := "Réinitialisez votre mot de passe — 密码重置 " + strings.Repeat("é", 60)
	if err := s.Send(ctxT(t), Message{To: "zoë <zoe@corp.example>", Subject: subject, Text: "Grüße"}); err != nil {
		t.Fatal(err)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("got %d messages", len(msgs))
	}
	for _, b := range msgs[0].Data {
		if b >= 0x80 {
			t.Fatalf("message is not 7-bit clean:\n%s", msgs[0].Data)
		}
	}
	h, body := parsed(t, msgs[0].Data)
	dec := new(mime.WordDecoder)
	got, err := dec.DecodeHeader(h.Get("Subject"))
	if err != nil || got != subject {
		t.Errorf("Subject decodes to %q (%v), want %q", got, err, subject)
	}
	from, err := h.AddressList("From")
	if err != nil || len(from) != 1 || from[0].Name != "Gâtehouse Çorp" {
		t.Errorf("From = %v (%v)", from, err)
	}
	if strings.TrimSpace(body) != "Grüße" {
		t.Errorf("body = %q", body)
	}
}

func TestSMTPConfigValidation(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  SMTPConfig
	}{
		{"no host", SMTPConfig{From: "a@b.example"}},
		{"unknown security", SMTPConfig{Host: "smtp.example", From: "a@b.example", Security: "ssl"}},
		{"credentials in clear to a remote relay", SMTPConfig{Host: "smtp.example", From: "a@b.example", Security: "none", Username: "u"}},
		{"missing CA file", SMTPConfig{Host: "smtp.example", From: "a@b.example", RootCAsFile: "/nonexistent/ca.pem"}},
		{"port out of range", SMTPConfig{Host: "smtp.example", From: "a@b.example", Port: 70000}},
	} {
		if _, err := NewSMTP(tt.cfg, nil); err == nil {
			t.Errorf("%s: NewSMTP accepted %+v", tt.name, tt.cfg)
		}
	}
}

// A server that accepts the connection but never speaks must not hold the
// sender beyond its context's deadline.
func TestSMTPHonoursContextDeadline(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close() // hold it open, silent
		}
	}()
	s, err := NewSMTP(SMTPConfig{Host: "127.0.0.1", Port: l.Addr().(*net.TCPAddr).Port, Security: "none", From: "a@corp.example"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Send(ctx, Message{To: "b@corp.example", Subject: "s", Text: "t"}) }()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Send = %v, want a deadline error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Send did not return after its context expired")
	}
}

func TestOutboxWritesParseableEML(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "outbox")
	var logBuf bytes.Buffer
	o := &Outbox{Dir: dir, Log: slog.New(slog.NewJSONHandler(&logBuf, nil))}
	text := "Open https://gatehouse.example/reset?token=" + strings.Repeat("a", 90) + "\nÇa marche.\n"
	if err := o.Send(ctxT(t), Message{To: "zoe@corp.example", Subject: "Réinitialiser", Text: text}); err != nil {
		t.Fatal(err)
	}
	if err := o.Send(ctxT(t), Message{To: "second@corp.example", Subject: "Second", Text: "2"}); err != nil {
		t.Fatal(err)
	}

	st, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o700 {
		t.Errorf("outbox dir mode = %v, want 0700", st.Mode().Perm())
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.eml"))
	if err != nil || len(files) != 2 {
		t.Fatalf("outbox holds %v (%v), want 2 .eml files", files, err)
	}
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s mode = %v, want 0600", f, st.Mode().Perm())
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := netmail.ReadMessage(bytes.NewReader(data)); err != nil {
			t.Errorf("%s does not parse: %v", f, err)
		}
	}
	// The operator copies the link straight out of the file.
	first, _ := os.ReadFile(files[0])
	if !bytes.Contains(first, []byte("https://gatehouse.example/reset?token="+strings.Repeat("a", 90))) {
		t.Errorf("the link is not readable as is in the .eml file:\n%s", first)
	}

	msgs, err := ReadOutbox(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 || msgs[0].To != "zoe@corp.example" || msgs[0].Subject != "Réinitialiser" || msgs[0].Text != text || msgs[1].To != "second@corp.example" {
		t.Errorf("ReadOutbox = %+v", msgs)
	}

	logged := logBuf.String()
	for _, want := range []string{`"to":"zoe@corp.example"`, `"subject":"Réinitialiser"`, "token=" + strings.Repeat("a", 90)} {
		if !strings.Contains(logged, want) {
			t.Errorf("log lacks %s:\n%s", want, logged)
		}
	}
}

func TestOutboxRejectsInjectionAndWritesNothing(t *testing.T) {
	dir := t.TempDir()
	o := &Outbox{Dir: dir}
	err := o.Send(ctxT(t), Message{To: "a@corp.example\r\nBcc: b@evil.example", Subject: "s", Text: "t"})
	if !errors.Is(err, ErrInvalidMessage) {
		t.Fatalf("Send = %v, want ErrInvalidMessage", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Errorf("outbox has %d entries after a rejected message", len(entries))
	}
}
