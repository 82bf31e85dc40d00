package page

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The sign-in pages and the admin console share this package and nothing
// else: neither imports the other, and this package imports neither, so a
// change to one half cannot reach into the other's handlers.
func TestSignInPagesAndConsoleDoNotImportEachOther(t *testing.T) {
	const mod = "github.com/gatehouse-id/gatehouse/internal/web"
	forbidden := map[string][]string{
		"..":         {mod + "/console"},
		"../console": {mod},
		".":          {mod, mod + "/console"},
	}
	for dir, banned := range forbidden {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		if len(files) == 0 {
			t.Fatalf("no Go files in %s", dir)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue // tests may mount both halves
			}
			af, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range af.Imports {
				p, _ := strconv.Unquote(imp.Path.Value)
				for _, b := range banned {
					if p == b {
						t.Errorf("%s imports %s", f, p)
					}
				}
			}
		}
	}
}
