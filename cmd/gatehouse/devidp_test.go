package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDevIDPQuickUsers(t *testing.T) {
	u, err := parseQuickUser(" alice@example.com:pa:ss word")
	if err != nil || u.Email != "alice@example.com" || u.Password != "pa:ss word" {
		t.Errorf("got %+v, %v", u, err)
	}
	for _, bad := range []string{"alice@example.com", "alice@example.com:", ":secret", "alice:secret", ""} {
		if _, err := parseQuickUser(bad); err == nil {
			t.Errorf("--user %q accepted", bad)
		}
	}

	dir := t.TempDir()
	file := filepath.Join(dir, "users.yaml")
	if err := os.WriteFile(file, []byte("users:\n  - {email: carol@example.com, password: x, groups: [ops]}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	users, err := devIDPUsers(file, []string{"dave@example.com:y"})
	if err != nil || len(users) != 2 || users[0].Email != "carol@example.com" || users[1].Email != "dave@example.com" {
		t.Errorf("users %+v, %v", users, err)
	}
	if _, err := devIDPUsers("", nil); err == nil || !strings.Contains(err.Error(), "--user") {
		t.Errorf("no users: %v", err)
	}
	if _, err := devIDPUsers(filepath.Join(dir, "missing.yaml"), nil); err == nil {
		t.Error("missing users file accepted")
	}
}

func TestDevIDPKeypairIsKept(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "devidp-data")
	now := time.Now()
	first, from, err := devIDPKeypair("", "", dir, now)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(from, "(new)") {
		t.Errorf("first start: key from %q", from)
	}
	if fi, err := os.Stat(filepath.Join(dir, "idp.key.pem")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v %v", fi, err)
	}
	second, _, err := devIDPKeypair("", "", dir, now)
	if err != nil {
		t.Fatal(err)
	}
	if !second.Cert.Equal(first.Cert) || !second.Key.Equal(first.Key) {
		t.Error("a restart made a new key; Gatehouse would stop trusting the IdP")
	}
	// Explicit files win, and go together.
	explicit, from, err := devIDPKeypair(filepath.Join(dir, "idp.key.pem"), filepath.Join(dir, "idp.crt.pem"), "elsewhere", now)
	if err != nil || !explicit.Cert.Equal(first.Cert) || strings.HasSuffix(from, "(new)") {
		t.Errorf("explicit files: %v, from %q", err, from)
	}
	if _, _, err := devIDPKeypair(filepath.Join(dir, "idp.key.pem"), "", dir, now); err == nil {
		t.Error("--key-file without --cert-file accepted")
	}
	// Half a pair is not silently replaced.
	if err := os.Remove(filepath.Join(dir, "idp.crt.pem")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := devIDPKeypair("", "", dir, now); err == nil {
		t.Error("key without certificate accepted")
	}
}

func TestDevIDPBaseURL(t *testing.T) {
	for addr, want := range map[string]string{
		// The same site as Gatehouse's default http://localhost:8080,
		// so a browser sends the SameSite=Lax binding cookie with the
		// IdP's POST back.
		"127.0.0.1:8081": "http://localhost:8081",
		"[::1]:8081":     "http://localhost:8081",
		"0.0.0.0:8081":   "http://localhost:8081",
		"[::]:8081":      "http://localhost:8081",
		"127.0.0.2:8081": "http://127.0.0.2:8081",
		"10.1.2.3:8081":  "http://10.1.2.3:8081",
	} {
		a, err := net.ResolveTCPAddr("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := devIDPBaseURL(a); got != want {
			t.Errorf("%s: %s, want %s", addr, got, want)
		}
	}
}
