package secretbox_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/secretbox"
)

func TestSealOpen(t *testing.T) {
	box, err := secretbox.New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := box.Seal("-----BEGIN PRIVATE KEY-----", "conn-1")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sealed, "PRIVATE KEY") {
		t.Fatal("sealed value leaks the plaintext")
	}
	got, err := box.Open(sealed, "conn-1")
	if err != nil || got != "-----BEGIN PRIVATE KEY-----" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	other, _ := secretbox.New(bytes.Repeat([]byte{8}, 32))
	for name, open := range map[string]func() (string, error){
		"wrong context": func() (string, error) { return box.Open(sealed, "conn-2") },
		"wrong key":     func() (string, error) { return other.Open(sealed, "conn-1") },
		"tampered":      func() (string, error) { return box.Open(sealed[:len(sealed)-2]+"AA", "conn-1") },
		"not sealed":    func() (string, error) { return box.Open("plain", "conn-1") },
	} {
		if _, err := open(); !errors.Is(err, secretbox.ErrOpen) {
			t.Errorf("%s: want ErrOpen, got %v", name, err)
		}
	}
	if _, err := secretbox.New([]byte("short")); err == nil {
		t.Error("a short key must be refused")
	}
}
