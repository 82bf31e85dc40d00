package main_test

import (
	"context"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/saml"
)

// TestDevIDPCommand runs the built binary: it prints its metadata URL,
// serves metadata Gatehouse can read, keeps its certificate across a
// restart, and stops cleanly on SIGINT.
func TestDevIDPCommand(t *testing.T) {
	state := t.TempDir()
	run := func() saml.IdPMetadata {
		p := startProc(t, exec.Command(binary, "devidp", "--listen", "127.0.0.1:0", "--state-dir", state,
			"--user", "alice@example.com:secret", "--user", "bob@example.com:hunter2"))
		deadline := time.After(30 * time.Second)
		var metadataURL string
		var out []string
		for metadataURL == "" || !strings.Contains(strings.Join(out, "\n"), "bob@example.com") {
			select {
			case l, ok := <-p.lines:
				if !ok {
					t.Fatalf("devidp exited early:\n%s", strings.Join(out, "\n"))
				}
				out = append(out, l)
				if f := strings.Fields(l); len(f) == 3 && f[0] == "metadata" && f[1] == "URL" {
					metadataURL = f[2]
				}
			case <-deadline:
				t.Fatalf("no metadata URL printed:\n%s", strings.Join(out, "\n"))
			}
		}
		body, err := saml.FetchMetadata(context.Background(), nil, metadataURL)
		if err != nil {
			t.Fatal(err)
		}
		md, err := saml.ParseIdPMetadata(body)
		if err != nil {
			t.Fatal(err)
		}
		p.signal(t, syscall.SIGINT, 30*time.Second)
		return md
	}
	first := run()
	second := run()
	if len(first.SigningCertificates) != 1 || !first.SigningCertificates[0].Equal(second.SigningCertificates[0]) {
		t.Error("the restarted IdP has another certificate")
	}
}
