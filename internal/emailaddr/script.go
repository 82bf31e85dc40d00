package emailaddr

import (
	"sort"
	"unicode"
)

// scriptTables lists unicode.Scripts once, in a fixed order, without Common
// and Inherited: digits, punctuation and combining marks belong to every
// script and never make a string mixed.
var scriptTables = func() []*unicode.RangeTable {
	names := make([]string, 0, len(unicode.Scripts))
	for name := range unicode.Scripts {
		if name != "Common" && name != "Inherited" {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	out := make([]*unicode.RangeTable, len(names))
	for i, n := range names {
		out[i] = unicode.Scripts[n]
	}
	return out
}()

// The script sets UTS #39 "highly restrictive" accepts besides a single
// script: Japanese, Chinese and Korean writing mixes Han with its own
// scripts, and each with Latin.
var allowedMixes = [][]*unicode.RangeTable{
	{unicode.Latin, unicode.Han, unicode.Hiragana, unicode.Katakana},
	{unicode.Latin, unicode.Han, unicode.Bopomofo},
	{unicode.Latin, unicode.Han, unicode.Hangul},
}

// singleScript reports whether s's letters all come from one script, or
// from one of allowedMixes. It reads the Unicode Script property; there is
// no list of "bad" characters to keep up to date.
func singleScript(s string) bool {
	var seen []*unicode.RangeTable
	for _, r := range s {
		if r < 0x80 {
			if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
				seen = addScript(seen, unicode.Latin)
			}
			continue
		}
		if t := scriptOf(r); t != nil {
			seen = addScript(seen, t)
		}
	}
	if len(seen) <= 1 {
		return true
	}
	for _, mix := range allowedMixes {
		if subset(seen, mix) {
			return true
		}
	}
	return false
}

// scriptOf returns r's script table, or nil for Common, Inherited and
// unassigned code points.
func scriptOf(r rune) *unicode.RangeTable {
	for _, t := range scriptTables {
		if unicode.Is(t, r) {
			return t
		}
	}
	return nil
}

func addScript(seen []*unicode.RangeTable, t *unicode.RangeTable) []*unicode.RangeTable {
	for _, s := range seen {
		if s == t {
			return seen
		}
	}
	return append(seen, t)
}

func subset(a, b []*unicode.RangeTable) bool {
	for _, x := range a {
		found := false
		for _, y := range b {
			if x == y {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
