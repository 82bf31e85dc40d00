package emailaddr

//go:generate go run gen_confusables.go -in confusables.txt -version 13.0.0

import (
	"strings"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

var fold = cases.Fold()

// Skeleton returns the UTS #39-style skeleton of an address: two addresses
// with the same skeleton look alike to a person (аlice@corp.test with a
// Cyrillic а and alice@corp.test; ceo@corp.test and ce0@corp.test). It is
// NFKC, then case folding, then NFD, then each character mapped to its
// prototype from the confusables table (Latin, Greek and Cyrillic
// lookalikes of ASCII letters and digits, generated from Unicode's
// confusables.txt), then NFD again. An A-label domain is first shown as its
// U-label, since xn-- hides exactly the letters a person would confuse.
//
// Skeleton accepts any string, normalized or not (stored addresses from
// before the rules tightened have one too); it is a key for comparison,
// never an address to store or show.
func Skeleton(addr string) string {
	if at := strings.LastIndexByte(addr, '@'); at >= 0 && strings.Contains(addr[at:], "xn--") {
		if uni, err := display.ToUnicode(addr[at+1:]); err == nil {
			addr = addr[:at+1] + uni
		}
	}
	s := norm.NFD.String(fold.String(norm.NFKC.String(addr)))
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if Invisible(r) {
			continue
		}
		if p, ok := confusables[r]; ok {
			b.WriteString(p)
			continue
		}
		b.WriteRune(r)
	}
	return norm.NFD.String(b.String())
}
