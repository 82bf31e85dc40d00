package main_test

import (
	"bytes"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/devidp"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

// cleanEnv is the environment without any GATEHOUSE_* setting of the
// developer's own, so a command sees only what the test gives it.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "GATEHOUSE_") && !strings.HasPrefix(kv, "GATEHOUSE_TEST_") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// runIn runs the gatehouse binary in dir and returns stdout, stderr and
// whether it succeeded.
func runIn(t *testing.T, dir string, env []string, args ...string) (string, string, bool) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir, cmd.Env = dir, env
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	return out.String(), errOut.String(), err == nil
}

func entries(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	return names
}

// An admin command run where there is no Gatehouse data creates nothing:
// it names the directory it looked in and every way to point it at the
// right one, instead of leaving an empty database behind and reporting the
// organization as unknown.
func TestAdminCommandsCreateNoDataDirectory(t *testing.T) {
	for _, args := range [][]string{
		{"admin", "member", "list", "--org", "acme"},
		{"admin", "org", "list"},
		{"recover", "--email", "olive@acme.example"},
	} {
		t.Run(args[0]+"_"+args[1], func(t *testing.T) {
			dir := t.TempDir()
			out, errOut, ok := runIn(t, dir, cleanEnv(), args...)
			if ok {
				t.Fatalf("gatehouse %v succeeded with no data:\n%s", args, out)
			}
			if names := entries(t, dir); len(names) != 0 {
				t.Errorf("gatehouse %v created %v in the working directory", args, names)
			}
			for _, want := range []string{filepath.Join(dir, "gatehouse-data"), "--data-dir", "GATEHOUSE_DATA_DIR",
				"--database-url", "GATEHOUSE_DATABASE_URL", "--config", "gatehouse serve"} {
				if !strings.Contains(errOut, want) {
					t.Errorf("gatehouse %v: message lacks %q:\n%s", args, want, errOut)
				}
			}
			if strings.Contains(errOut, "Not found") {
				t.Errorf("gatehouse %v blames the organization:\n%s", args, errOut)
			}
		})
	}

	// A data directory that exists but holds no database: named, and left empty.
	t.Run("empty_data_dir", func(t *testing.T) {
		dataDir := t.TempDir()
		_, errOut, ok := runIn(t, t.TempDir(), cleanEnv("GATEHOUSE_DATA_DIR="+dataDir), "admin", "org", "list")
		if ok || !strings.Contains(errOut, filepath.Join(dataDir, "gatehouse.db")) || !strings.Contains(errOut, "--data-dir") {
			t.Fatalf("admin org list on an empty data directory: ok %v\n%s", ok, errOut)
		}
		if names := entries(t, dataDir); len(names) != 0 {
			t.Errorf("admin org list created %v in the data directory", names)
		}
	})

	// An empty PostgreSQL database is not filled: both tries find it empty.
	t.Run("empty_postgres", func(t *testing.T) {
		env := cleanEnv("GATEHOUSE_DATABASE_URL="+sqltest.PostgresDatabaseURL(t), "GATEHOUSE_SECRET_KEY=QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=")
		for try := range 2 {
			_, errOut, ok := runIn(t, t.TempDir(), env, "admin", "org", "list")
			if ok || !strings.Contains(errOut, "the database is empty") || !strings.Contains(errOut, "--database-url") {
				t.Fatalf("try %d: admin org list on an empty PostgreSQL database: ok %v\n%s", try+1, ok, errOut)
			}
		}
	})

	// migrate, like serve, prepares the database: it creates it.
	t.Run("migrate_creates", func(t *testing.T) {
		dir := t.TempDir()
		if out, errOut, ok := runIn(t, dir, cleanEnv(), "migrate"); !ok {
			t.Fatalf("migrate: %s%s", out, errOut)
		}
		if _, err := os.Stat(filepath.Join(dir, "gatehouse-data", "gatehouse.db")); err != nil {
			t.Fatalf("migrate did not create the database: %v", err)
		}
		if out, errOut, ok := runIn(t, dir, cleanEnv(), "admin", "org", "list"); !ok {
			t.Fatalf("admin org list after migrate: %s%s", out, errOut)
		}
	})
}

// The server records its public URL when it starts; the admin CLI, run
// without the server's configuration, prints SAML and OIDC addresses on
// the recorded URL and says that its own configuration differs.
func TestCLIUsesTheServersPublicURL(t *testing.T) {
	kp, err := devidp.GenerateKeypair(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	dev, err := devidp.New(devidp.Config{BaseURL: "http://localhost:8081", Key: kp.Key, Cert: kp.Cert,
		Users: []devidp.User{{Email: "alice@corp.example", Password: "correct horse"}}})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	dev.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metadata", nil))
	metadata := filepath.Join(t.TempDir(), "idp.xml")
	if err := os.WriteFile(metadata, rec.Body.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(t *testing.T, dbEnv []string) {
		const served = "http://localhost:9090"
		dataDir := t.TempDir()
		env := append([]string{"GATEHOUSE_DATA_DIR=" + dataDir}, dbEnv...)
		n := startNode(t, append(env, "GATEHOUSE_PUBLIC_URL="+served)...)
		defer n.stop(t)

		// This command's configuration has no public_url: its default differs.
		cliEnv := cleanEnv(env...)
		admin := func(args ...string) (string, string) {
			t.Helper()
			out, errOut, ok := runIn(t, t.TempDir(), cliEnv, args...)
			if !ok {
				t.Fatalf("gatehouse %v: %s%s", args, out, errOut)
			}
			return out, errOut
		}
		admin("admin", "org", "create", "--name", "Acme", "--slug", "acme")
		note := "the server runs at " + served
		for _, tc := range []struct {
			args []string
			want []string
		}{
			{[]string{"admin", "idp", "add", "--org", "acme", "--name", "Dev IdP", "--metadata-file", metadata},
				[]string{served + "/saml/dev-idp\n", served + "/saml/dev-idp/acs"}},
			{[]string{"admin", "idp", "show", "--org", "acme", "--slug", "dev-idp"}, []string{served + "/saml/dev-idp/acs"}},
			{[]string{"admin", "app", "add", "--org", "acme", "--name", "Dev app", "--redirect-uri", "http://localhost:9000/callback"},
				[]string{served, served + "/.well-known/openid-configuration"}},
		} {
			out, errOut := admin(tc.args...)
			for _, want := range tc.want {
				if !strings.Contains(out, want) {
					t.Errorf("gatehouse %v lacks %q:\n%s", tc.args, want, out)
				}
			}
			if strings.Contains(out, "127.0.0.1:8080") || strings.Contains(out, "localhost:8080") {
				t.Errorf("gatehouse %v prints this command's default address:\n%s", tc.args, out)
			}
			if !strings.Contains(errOut, note) || !strings.Contains(errOut, "this command's configuration says http://localhost:8080") {
				t.Errorf("gatehouse %v does not say its configuration differs:\n%s", tc.args, errOut)
			}
		}
		// The same public URL in the command's configuration: nothing to say.
		if _, errOut, ok := runIn(t, t.TempDir(), append(cliEnv, "GATEHOUSE_PUBLIC_URL="+served+"/"), "admin", "idp", "show", "--org", "acme", "--slug", "dev-idp"); !ok || strings.Contains(errOut, note) {
			t.Errorf("idp show with the server's own public URL: ok %v\n%s", ok, errOut)
		}
	}
	t.Run("sqlite", func(t *testing.T) { run(t, nil) })
	t.Run("postgres", func(t *testing.T) {
		run(t, []string{"GATEHOUSE_DATABASE_URL=" + sqltest.PostgresDatabaseURL(t)})
	})
}
