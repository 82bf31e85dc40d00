package sso

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"

	"github.com/gatehouse-id/gatehouse/internal/saml"
)

const nsProtocol = "urn:oasis:names:tc:SAML:2.0:protocol"

// maxRequestIDLen bounds the InResponseTo we look up; our own request IDs
// are 33 characters ("_" + 32 hex digits).
const maxRequestIDLen = 128

// peekRoot reads the root element's InResponseTo from a document that
// saml.Validator.Decode returned, WITHOUT trusting it: the value only says
// which pending AuthnRequest to look up, and the validator then checks that
// the signed content answers exactly that request. It reads no further than
// the root start tag, after refusing anything a DTD could hide in (so no
// entity can expand into the attribute). "" means unsolicited.
func peekRoot(raw []byte) (string, *Rejection) {
	bad := func(reason, detail string) (string, *Rejection) {
		return "", &Rejection{Reason: reason, Detail: detail}
	}
	dec := xml.NewDecoder(bytes.NewReader(raw))
	dec.Strict = true
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return bad(saml.ReasonMalformed, "no root element")
		}
		if err != nil {
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				return bad(saml.ReasonMalformed, "not well-formed XML")
			}
			return bad(saml.ReasonMalformed, "cannot read XML")
		}
		switch t := tok.(type) {
		case xml.Directive:
			return bad(saml.ReasonDoctypeForbidden, "the document contains a DTD")
		case xml.ProcInst, xml.Comment:
		case xml.CharData:
			if len(bytes.TrimSpace(t)) != 0 {
				return bad(saml.ReasonMalformed, "text before the root element")
			}
		case xml.StartElement:
			if t.Name.Space != nsProtocol || t.Name.Local != "Response" {
				return bad(saml.ReasonMalformed, "the root element is not samlp:Response")
			}
			irt, seen := "", false
			for _, a := range t.Attr {
				if a.Name.Space == "" && a.Name.Local == "InResponseTo" {
					if seen {
						return bad(saml.ReasonMalformed, "InResponseTo appears twice")
					}
					irt, seen = a.Value, true
				}
			}
			if seen && !validRequestID(irt) {
				return bad(saml.ReasonInResponseToMismatch, "InResponseTo is not one of our request IDs")
			}
			return irt, nil
		default:
			return bad(saml.ReasonMalformed, "unexpected content before the root element")
		}
	}
}

// validRequestID accepts what an xs:ID we could have issued looks like,
// so arbitrary bytes never reach a database query or a log line.
func validRequestID(s string) bool {
	if s == "" || len(s) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}
