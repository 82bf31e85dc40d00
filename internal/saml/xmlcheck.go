package saml

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"unicode/utf8"
)

// Structural limits enforced before any tree is built. Real responses from
// Entra ID, Okta and ADFS nest about ten levels and declare fewer than ten
// namespaces; the limits only bound the work an attacker can cause in
// canonicalization, which costs elements × namespaces in scope.
const (
	maxDepth            = 48
	maxNamespaces       = 48
	maxAttrsPerElement  = 64
	defaultMaxBodyBytes = 256 << 10
)

// decodeBody undoes the HTTP-POST binding's base64. Browsers and IdPs wrap
// the value at 76 columns, so all ASCII whitespace is dropped first; anything
// else that is not standard, padded base64 is rejected.
func decodeBody(s string, maxBytes int) ([]byte, *Error) {
	if len(s) > maxBytes {
		return nil, fail(ReasonTooLarge, "SAMLResponse is %d bytes, limit %d", len(s), maxBytes)
	}
	clean := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\r', '\n':
			return -1
		}
		return r
	}, s)
	raw, err := base64.StdEncoding.DecodeString(clean)
	if err != nil {
		return nil, failWrap(ReasonMalformed, err, "SAMLResponse is not base64")
	}
	if len(raw) > maxBytes {
		return nil, fail(ReasonTooLarge, "decoded SAMLResponse is %d bytes, limit %d", len(raw), maxBytes)
	}
	// A UTF-8 byte order mark is legal XML that encoding/xml reports as
	// text before the root; drop it rather than refuse the document.
	raw = bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf"))
	if len(raw) == 0 {
		return nil, fail(ReasonMalformed, "empty SAMLResponse")
	}
	return raw, nil
}

// checkXML reads every token of data once, before etree or goxmldsig see it,
// and rejects:
//   - any DTD construct (DOCTYPE, ENTITY, …): encoding/xml hands these through
//     as Directive tokens instead of failing, and the SAML profiles forbid them
//     (saml-bindings §3.5.5.2 is silent, but saml-core §1.3 and every
//     hardening guide say no DTDs);
//   - processing instructions other than the leading XML declaration;
//   - documents that are not well-formed: unmatched end tags (RawToken does
//     not check them), several roots, text outside the root, duplicate
//     attributes (encoding/xml accepts them and etree silently keeps the
//     last, while goxmldsig reads the first: a classic parser differential);
//   - names that are not QNames (more than one colon, empty prefix);
//   - tokens that do not survive an encoding/xml encode/decode round trip,
//     the check github.com/mattermost/xml-roundtrip-validator makes
//     (CVE-2020-29509/29510/29511): if a token can change meaning when
//     re-serialized, the bytes goxmldsig digests and the tree we read could
//     disagree.
func checkXML(data []byte) *Error {
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	rt := newRoundTripper()
	var stack []xml.Name
	var nsDeclared []int
	nsInScope := 0
	sawRoot := false
	first := true
	for {
		tok, err := dec.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			return failWrap(ReasonMalformed, err, "not well-formed XML")
		}
		switch t := tok.(type) {
		case xml.Directive:
			return fail(ReasonDoctypeForbidden, "DTD construct %q", truncate(string(t), 40))
		case xml.ProcInst:
			if !first || t.Target != "xml" {
				return fail(ReasonMalformed, "processing instruction <?%s?> not allowed", truncate(t.Target, 40))
			}
		case xml.StartElement:
			if len(stack) == 0 && sawRoot {
				return fail(ReasonMalformed, "more than one root element")
			}
			sawRoot = true
			if !validQName(t.Name) {
				return fail(ReasonMalformed, "invalid element name %q:%q", truncate(t.Name.Space, 40), truncate(t.Name.Local, 40))
			}
			if e := checkAttrs(t.Attr); e != nil {
				return e
			}
			n := 0
			for _, a := range t.Attr {
				if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
					n++
				}
			}
			stack = append(stack, t.Name)
			nsDeclared = append(nsDeclared, n)
			nsInScope += n
			if len(stack) > maxDepth {
				return fail(ReasonMalformed, "elements nested deeper than %d", maxDepth)
			}
			if nsInScope > maxNamespaces {
				return fail(ReasonMalformed, "more than %d namespace declarations in scope", maxNamespaces)
			}
		case xml.EndElement:
			if len(stack) == 0 || stack[len(stack)-1] != t.Name {
				return fail(ReasonMalformed, "unexpected end tag </%s>", truncate(t.Name.Local, 40))
			}
			stack = stack[:len(stack)-1]
			nsInScope -= nsDeclared[len(nsDeclared)-1]
			nsDeclared = nsDeclared[:len(nsDeclared)-1]
		case xml.CharData:
			if len(stack) == 0 && len(bytes.TrimSpace(t)) > 0 {
				return fail(ReasonMalformed, "text outside the root element")
			}
		}
		if err := rt.check(tok); err != nil {
			return failWrap(ReasonXMLRoundtripFailed, err, "token at offset %d", dec.InputOffset())
		}
		first = false
	}
	if !sawRoot || len(stack) != 0 {
		return fail(ReasonMalformed, "no complete root element")
	}
	return nil
}

func checkAttrs(attrs []xml.Attr) *Error {
	if len(attrs) > maxAttrsPerElement {
		return fail(ReasonMalformed, "more than %d attributes on an element", maxAttrsPerElement)
	}
	for i, a := range attrs {
		if !validQName(a.Name) {
			return fail(ReasonMalformed, "invalid attribute name %q:%q", truncate(a.Name.Space, 40), truncate(a.Name.Local, 40))
		}
		for _, b := range attrs[:i] {
			if a.Name == b.Name {
				return fail(ReasonMalformed, "duplicate attribute %q", truncate(a.Name.Local, 40))
			}
		}
	}
	return nil
}

// validQName reports whether a RawToken name came from prefix:local or local
// with non-empty parts and no further colon.
func validQName(n xml.Name) bool {
	if n.Local == "" || strings.Contains(n.Local, ":") || strings.Contains(n.Space, ":") {
		return false
	}
	return true
}

// truncate shortens text for error details, on a rune boundary: details
// end up in the audit log, which must stay valid UTF-8.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

var errRoundTrip = errors.New("token changes when re-encoded")

// roundTripper re-encodes single tokens with encoding/xml and decodes them
// again. One decoder is reused for the whole document (reading from a feed it
// refills), because a decoder per token would dominate the cost of Validate.
type roundTripper struct {
	out  bytes.Buffer
	w    *bufio.Writer
	feed feed
	dec  *xml.Decoder
}

func newRoundTripper() *roundTripper {
	r := &roundTripper{}
	r.w = bufio.NewWriter(&r.out)
	r.dec = xml.NewDecoder(&r.feed)
	return r
}

// check encodes before and decodes it back. encoding/xml's encoder treats
// the prefix that RawToken leaves in Name.Space as a namespace URI, so the
// decoded token carries extra declarations; undoEncoder maps them back before
// comparing.
func (r *roundTripper) check(before xml.Token) error {
	r.out.Reset()
	// A fresh Encoder per token so no prefix state leaks between tokens;
	// it writes through r.w rather than allocating its own buffer.
	enc := xml.NewEncoder(r.w)
	end, isEnd := before.(xml.EndElement)
	if isEnd {
		if err := enc.EncodeToken(xml.StartElement{Name: end.Name}); err != nil {
			return err
		}
	}
	if err := enc.EncodeToken(before); err != nil {
		return err
	}
	if err := enc.Flush(); err != nil {
		return err
	}
	_, isText := before.(xml.CharData)
	// Text is followed by a sentinel element, or the decoder would read to
	// the end of the feed and keep io.EOF as a sticky error.
	r.feed.reset(r.out.Bytes(), isText)
	if isEnd {
		if _, err := r.dec.RawToken(); err != nil {
			return err
		}
	}
	after, err := r.dec.RawToken()
	if err != nil {
		return err
	}
	if !sameToken(before, after) {
		return errRoundTrip
	}
	if isText {
		for range 2 {
			if _, err := r.dec.RawToken(); err != nil {
				return err
			}
		}
	}
	if r.feed.off != len(r.feed.buf) {
		return errRoundTrip
	}
	return nil
}

func sameToken(before, after xml.Token) bool {
	switch b := before.(type) {
	case xml.CharData:
		a, ok := after.(xml.CharData)
		return ok && bytes.Equal(a, b)
	case xml.Comment:
		a, ok := after.(xml.Comment)
		return ok && bytes.Equal(a, b)
	case xml.ProcInst:
		a, ok := after.(xml.ProcInst)
		return ok && a.Target == b.Target && bytes.Equal(a.Inst, b.Inst)
	case xml.EndElement:
		a, ok := after.(xml.EndElement)
		return ok && a.Name.Local == b.Name.Local
	case xml.StartElement:
		a, ok := after.(xml.StartElement)
		if !ok {
			return false
		}
		a, ok = undoEncoder(b, a)
		if !ok || a.Name != b.Name || len(a.Attr) != len(b.Attr) {
			return false
		}
		for i := range a.Attr {
			if a.Attr[i] != b.Attr[i] {
				return false
			}
		}
		return true
	}
	return false
}

// undoEncoder reverses what xml.Encoder does to a RawToken StartElement: a
// prefixed element name becomes an unprefixed one with xmlns="prefix" as
// first attribute, and each prefixed attribute gets a generated prefix that
// is declared (xmlns:gen="prefix") just before its first use. Every prefixed
// attribute of the original is written with a generated prefix, so any
// xmlns:* attribute in the decoded token is one the encoder added.
func undoEncoder(before, after xml.StartElement) (xml.StartElement, bool) {
	attrs := after.Attr
	if before.Name.Space != "" {
		if after.Name.Space != "" || len(attrs) == 0 || attrs[0].Name != (xml.Name{Local: "xmlns"}) {
			return after, false
		}
		after.Name.Space = attrs[0].Value
		attrs = attrs[1:]
	}
	gen := map[string]string{}
	out := make([]xml.Attr, 0, len(attrs))
	for _, a := range attrs {
		switch {
		case a.Name.Space == "xmlns":
			gen[a.Name.Local] = a.Value
		case a.Name.Space != "":
			orig, ok := gen[a.Name.Space]
			if !ok {
				return after, false
			}
			a.Name.Space = orig
			out = append(out, a)
		default:
			out = append(out, a)
		}
	}
	after.Attr = out
	return after, true
}

// feed is the decoder's input: one encoded token and, for text, a sentinel
// element. It implements io.ByteReader so the decoder does not wrap it in a
// bufio.Reader that would read past the token.
type feed struct {
	buf []byte
	off int
}

var sentinel = []byte("<_/>")

func (f *feed) reset(tok []byte, withSentinel bool) {
	f.buf = append(f.buf[:0], tok...)
	if withSentinel {
		f.buf = append(f.buf, sentinel...)
	}
	f.off = 0
}

func (f *feed) ReadByte() (byte, error) {
	if f.off >= len(f.buf) {
		return 0, io.EOF
	}
	b := f.buf[f.off]
	f.off++
	return b, nil
}

func (f *feed) Read(p []byte) (int, error) {
	if f.off >= len(f.buf) {
		return 0, io.EOF
	}
	n := copy(p, f.buf[f.off:])
	f.off += n
	return n, nil
}
