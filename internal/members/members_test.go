package members_test

import (
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/members"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// A spreadsheet runs a cell that starts with = + - @ (or a tab or CR
// before one) as a formula; the export makes such a cell text.
func TestCSVCellGuardsFormulas(t *testing.T) {
	for in, want := range map[string]string{
		`=HYPERLINK("https://evil.example")`: `'=HYPERLINK("https://evil.example")`,
		"+1 555":                             "'+1 555",
		"-2+3":                               "'-2+3",
		"@SUM(A1)":                           "'@SUM(A1)",
		"\t=1":                               "'\t=1",
		"\r=1":                               "'\r=1",
		"Ada Lovelace":                       "Ada Lovelace",
		"":                                   "",
		"a=b":                                "a=b",
	} {
		if got := members.CSVCell(in); got != want {
			t.Errorf("CSVCell(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCursorRoundTripAndRefusals(t *testing.T) {
	c := storage.MemberCursor{Key: "ada lovelace", ID: "0cfa2fed"}
	got, err := members.DecodeCursor(members.EncodeCursor(c))
	if err != nil || got != c {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	for _, bad := range []string{"!!!", "bm9udWw", string(make([]byte, 2000))} {
		if _, err := members.DecodeCursor(bad); err == nil {
			t.Errorf("DecodeCursor(%q) accepted", bad)
		}
	}
	q := members.Query{After: "x", Before: "y"}
	if _, err := q.ToStorage("o"); err == nil {
		t.Error("a query with both cursors was accepted")
	}
	long := members.Query{Q: string(make([]byte, members.MaxPrefix+1))}
	if _, err := long.ToStorage("o"); err == nil {
		t.Error("an over-long search was accepted")
	}
}
