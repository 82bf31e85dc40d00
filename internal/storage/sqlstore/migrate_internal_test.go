package sqlstore

import (
	"reflect"
	"testing"
)

// Both dialects must carry the same migration numbers, so a version in
// schema_migrations means the same schema whichever database holds it.
func TestMigrationVersionsMatchAcrossDialects(t *testing.T) {
	versions := func(dialect string) []int64 {
		ms, err := migrations(dialect)
		if err != nil {
			t.Fatal(err)
		}
		var vs []int64
		for _, m := range ms {
			vs = append(vs, m.version)
		}
		return vs
	}
	lite, pg := versions(DialectSQLite), versions(DialectPostgres)
	if len(lite) == 0 || !reflect.DeepEqual(lite, pg) {
		t.Fatalf("migration versions differ: sqlite %v, postgres %v", lite, pg)
	}
}

func TestParseURL(t *testing.T) {
	for _, tc := range []struct{ url, driver, dsn string }{
		{"sqlite:///var/lib/g.db", "sqlite", "file:/var/lib/g.db?" + sqlitePragmas},
		{"sqlite://data/g.db", "sqlite", "file:data/g.db?" + sqlitePragmas},
		{"file:g.db?cache=private", "sqlite", "file:g.db?cache=private&" + sqlitePragmas},
		{"postgres://u@h/db", "pgx", "postgres://u@h/db"},
		{"postgresql://u@h/db?sslmode=disable", "pgx", "postgresql://u@h/db?sslmode=disable"},
	} {
		driver, dsn, _, err := parseURL(tc.url)
		if err != nil || driver != tc.driver || dsn != tc.dsn {
			t.Errorf("parseURL(%q) = %q, %q, %v; want %q, %q", tc.url, driver, dsn, err, tc.driver, tc.dsn)
		}
	}
}
