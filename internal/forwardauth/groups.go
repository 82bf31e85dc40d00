package forwardauth

import (
	"strings"
)

// EncodeGroups is the X-Gatehouse-Groups value: the group names joined by
// ",", each with "%", "," and every byte outside printable ASCII (control
// characters, DEL, and the bytes of non-ASCII UTF-8) percent-encoded as
// %XX. Names made of printable ASCII without "," or "%" — nearly all —
// appear as they are. An app splits the value on "," and percent-decodes
// each part (e.g. Go's url.PathUnescape) to get the names back exactly;
// nothing a group is called at the IdP can add a name, split one, or put
// a line break into a header.
func EncodeGroups(groups []string) string {
	// Sized for the common case, nothing to encode: one allocation.
	n := len(groups)
	for _, g := range groups {
		n += len(g)
	}
	var b strings.Builder
	b.Grow(n)
	for i, g := range groups {
		if i > 0 {
			b.WriteByte(',')
		}
		for j := 0; j < len(g); j++ {
			c := g[j]
			if c < ' ' || c >= 0x7f || c == ',' || c == '%' {
				const hex = "0123456789ABCDEF"
				b.WriteByte('%')
				b.WriteByte(hex[c>>4])
				b.WriteByte(hex[c&15])
				continue
			}
			b.WriteByte(c)
		}
	}
	return b.String()
}

// headerSafe percent-encodes what EncodeGroups would in one value (an
// email address is stored as ASCII, IDNA A-labels, so this is a safety
// net, not a format apps need to expect).
func headerSafe(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c >= 0x7f {
			return strings.ReplaceAll(EncodeGroups([]string{s}), "%2C", ",")
		}
	}
	return s
}
