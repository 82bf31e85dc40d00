package page

import "testing"

// Pages are parsed on first render; this parses them all so a broken
// template fails here rather than on the page's first visit.
func TestPagesParse(t *testing.T) {
	if len(ownPages) == 0 {
		t.Fatal("no pages found")
	}
	if err := ownPages.Check(); err != nil {
		t.Fatal(err)
	}
}
