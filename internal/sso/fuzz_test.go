package sso

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/saml"
)

// FuzzComplete fuzzes the only part of Complete that reads the posted
// response before the validator does: the InResponseTo peek. It must never
// panic, and whatever it returns must be either a rejection with a reason or
// a request ID safe to look up. Seeds live in testdata/fuzz/FuzzComplete.
func FuzzComplete(f *testing.F) {
	enc := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	for _, s := range []string{
		enc(`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_r" InResponseTo="_0123456789abcdef0123456789abcdef"/>`),
		enc(`<?xml version="1.0"?><!-- c --><samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"/>`),
		enc(`<!DOCTYPE r [<!ENTITY x "_a">]><samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" InResponseTo="&x;"/>`),
		enc(`<Response xmlns="urn:oasis:names:tc:SAML:2.0:protocol" InResponseTo="_a" InResponseTo="_b"/>`),
		enc(`<p:Response xmlns:p="urn:x" InResponseTo="_a"/>`),
		"", "====", "PHg+",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		id, rej := peekInResponseTo(in, saml.DefaultMaxBodyBytes)
		switch {
		case rej != nil && id != "":
			t.Fatalf("both a request ID %q and a rejection %+v", id, rej)
		case rej != nil && rej.Reason == "":
			t.Fatalf("rejection without a reason: %+v", rej)
		case id != "" && !validRequestID(id):
			t.Fatalf("unsafe request ID %q", id)
		}
	})
}

func TestPeekInResponseTo(t *testing.T) {
	enc := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	const ns = `xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"`
	for _, c := range []struct {
		name, in, id, reason string
	}{
		{"solicited", enc(`<samlp:Response ` + ns + ` InResponseTo="_abc"><x/></samlp:Response>`), "_abc", ""},
		{"unsolicited", enc(`<?xml version="1.0"?>` + "\n" + `<samlp:Response ` + ns + `/>`), "", ""},
		{"default namespace", enc(`<Response xmlns="urn:oasis:names:tc:SAML:2.0:protocol" InResponseTo="_abc"/>`), "_abc", ""},
		{"namespaced attribute ignored", enc(`<samlp:Response ` + ns + ` xmlns:x="urn:x" x:InResponseTo="_evil" InResponseTo="_good"/>`), "_good", ""},
		{"line-wrapped base64", "PHNhbWxwOlJlc3BvbnNlIHhtbG5zOnNhbWxwPSJ1cm46b2FzaXM6bmFtZXM6dGM6U0FNTDoy\r\nLjA6cHJvdG9jb2wiLz4=", "", ""},
		{"DTD", enc(`<!DOCTYPE r [<!ENTITY x "_a">]><samlp:Response ` + ns + ` InResponseTo="&x;"/>`), "", saml.ReasonDoctypeForbidden},
		{"duplicate", enc(`<samlp:Response ` + ns + ` InResponseTo="_a" InResponseTo="_b"/>`), "", saml.ReasonMalformed},
		{"empty ID", enc(`<samlp:Response ` + ns + ` InResponseTo=""/>`), "", saml.ReasonInResponseToMismatch},
		{"long ID", enc(`<samlp:Response ` + ns + ` InResponseTo="_` + strings.Repeat("a", 200) + `"/>`), "", saml.ReasonInResponseToMismatch},
		{"other namespace", enc(`<samlp:Response xmlns:samlp="urn:x" InResponseTo="_a"/>`), "", saml.ReasonMalformed},
		{"assertion root", enc(`<Assertion xmlns="urn:oasis:names:tc:SAML:2.0:assertion"/>`), "", saml.ReasonMalformed},
		// The validator accepts a UTF-8 byte order mark (some IdPs write
		// one); the peek must not refuse what the validator accepts.
		{"byte order mark", enc("\xef\xbb\xbf<?xml version=\"1.0\"?><samlp:Response " + ns + ` InResponseTo="_abc"/>`), "_abc", ""},
	} {
		id, rej := peekInResponseTo(c.in, 1<<16)
		reason := ""
		if rej != nil {
			reason = rej.Reason
		}
		if id != c.id || reason != c.reason {
			t.Errorf("%s: got (%q, %q), want (%q, %q)", c.name, id, reason, c.id, c.reason)
		}
	}
}

// peekInResponseTo is what Complete does first with a form value: decode it
// as the validator does, then peek at the root.
func peekInResponseTo(samlResponse string, maxBytes int) (string, *Rejection) {
	raw, err := (&saml.Validator{MaxBodyBytes: maxBytes}).Decode(samlResponse)
	if err != nil {
		return "", samlRejection(err)
	}
	return peekRoot(raw)
}
