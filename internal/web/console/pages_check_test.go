package console

import "testing"

// Pages are parsed on first render; this parses them all so a broken
// template fails here rather than on the page's first visit.
func TestPagesParse(t *testing.T) {
	if len(pages) == 0 {
		t.Fatal("no pages found")
	}
	if err := pages.Check(); err != nil {
		t.Fatal(err)
	}
}
