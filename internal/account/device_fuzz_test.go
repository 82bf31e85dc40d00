package account_test

import (
	"log/slog"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/account"
)

// FuzzDeviceCookie: the device cookie is read from every sign-in request,
// so any bytes must be refused without panicking, and no change to a
// genuine cookie, nor the same cookie for another email, may pass.
func FuzzDeviceCookie(f *testing.F) {
	svc := account.New(nil, nil, account.Config{SecretKey: make([]byte, 32)}, slog.New(slog.DiscardHandler), nil)
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	// Issued by IssueDevice with the all-zero key at now; fixed, because
	// fuzz workers are separate processes and each would issue its own.
	const genuine = "s6_bZbORAXuvbZNtiRx_5QAAAABrhoUQmtybDp53IwmmTozJH0SPgknl8LEs6CmQp-ypFVpb9ag"
	if svc.DeviceID(genuine, "grace@acme.example", now) == "" {
		f.Fatal("the genuine cookie is refused")
	}
	f.Add(genuine, "grace@acme.example")
	f.Add(genuine, "ada@acme.example")
	f.Add(genuine[:len(genuine)-1], "grace@acme.example")
	f.Add("", "grace@acme.example")
	f.Add("%%%%", "")
	f.Add(genuine+"=", "grace@acme.example")
	f.Fuzz(func(t *testing.T, cookie, email string) {
		id := svc.DeviceID(cookie, email, now)
		if id == "" {
			return
		}
		if cookie != genuine || email != "grace@acme.example" {
			t.Fatalf("cookie %q accepted for %q", cookie, email)
		}
	})
}
