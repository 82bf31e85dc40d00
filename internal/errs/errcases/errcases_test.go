package errcases

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/errs"
)

// Every listed error carries the kind and code it is meant to, and still
// matches itself with errors.Is (existing callers keep working).
func TestEveryServiceErrorHasItsKind(t *testing.T) {
	for _, c := range All() {
		if got := errs.KindOf(c.Err); got != c.Kind {
			t.Errorf("%s: KindOf = %s, want %s", c.Name, got, c.Kind)
		}
		if got := errs.CodeOf(c.Err); got != c.Code {
			t.Errorf("%s: CodeOf = %q, want %q", c.Name, got, c.Code)
		}
		if !errors.Is(c.Err, c.Err) {
			t.Errorf("%s: errors.Is(err, err) is false", c.Name)
		}
	}
}

// Every sentinel has a kind: none is left Internal, which would make the
// edges answer 500 for a refusal.
func TestNoSentinelIsInternal(t *testing.T) {
	for _, c := range Sentinels() {
		if errs.KindOf(c.Err) == errs.Internal {
			t.Errorf("%s has no errs kind", c.Name)
		}
	}
}

// servicePackages are the packages whose exported Err* variables are
// service answers; the list in Sentinels must name each of them.
var servicePackages = []string{"storage", "account", "policy", "idp", "lockout", "domain", "session", "sso", "signin", "emailaddr", "mfa", "emergency", "health"}

// The list in Sentinels is complete: every exported Err* variable declared
// in a service package's sources is on it. A sentinel added without a
// kind fails here.
func TestSentinelListIsComplete(t *testing.T) {
	var listed []string
	for _, c := range Sentinels() {
		listed = append(listed, c.Name)
	}
	fset := token.NewFileSet()
	for _, pkg := range servicePackages {
		dir := filepath.Join("..", "..", pkg)
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, filepath.Join(dir, e.Name()), nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, decl := range f.Decls {
				gd, ok := decl.(*ast.GenDecl)
				if !ok || gd.Tok != token.VAR {
					continue
				}
				for _, spec := range gd.Specs {
					for _, n := range spec.(*ast.ValueSpec).Names {
						if n.IsExported() && strings.HasPrefix(n.Name, "Err") && !slices.Contains(listed, pkg+"."+n.Name) {
							t.Errorf("%s.%s (%s) is not in errcases.Sentinels: give it an errs kind and list it", pkg, n.Name, e.Name())
						}
					}
				}
			}
		}
	}
}
