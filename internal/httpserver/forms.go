package httpserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ErrBodyTooLarge is returned when a request body exceeds its limit.
var ErrBodyTooLarge = errors.New("The request is too large.")

// ErrUnsupportedMediaType is returned by DecodeJSON for a body not sent as
// application/json; it should become HTTP 415.
var ErrUnsupportedMediaType = errors.New("The request body must be JSON, sent with Content-Type: application/json.")

// ParseForm parses a urlencoded form body (already capped at MaxFormBody)
// and rejects invalid UTF-8 anywhere in it. Its error texts are safe to
// show; ErrBodyTooLarge should become HTTP 413, anything else 400.
func ParseForm(r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return ErrBodyTooLarge
		}
		return errors.New("The form could not be read.")
	}
	for k, vs := range r.Form {
		if !utf8.ValidString(k) {
			return errors.New("The form contains invalid characters.")
		}
		for _, v := range vs {
			if !utf8.ValidString(v) {
				return errors.New("The form contains invalid characters.")
			}
		}
	}
	return nil
}

// WriteJSON writes v as JSON with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// WriteJSONError writes {"error":{"code":…,"message":…}} with status.
func WriteJSONError(w http.ResponseWriter, status int, code, message string) {
	WriteJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": message}})
}

// DecodeJSON decodes exactly one JSON value from r's body into v, rejecting
// a body not sent as application/json (UTF-8), unknown fields, a field
// named twice in one object, invalid UTF-8, trailing data and bodies over
// MaxFormBody. Its error texts are safe to show; ErrUnsupportedMediaType
// should become HTTP 415, ErrBodyTooLarge 413, anything else 400.
//
// The media type is required because a browser sends text/plain and form
// bodies cross-site without asking first; duplicate fields are refused
// because whatever reads the body before Gatehouse (a proxy, a filter, an
// audit of the request) may keep the first where Go keeps the last.
func DecodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	if !isJSON(r.Header.Get("Content-Type")) {
		return ErrUnsupportedMediaType
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxFormBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return ErrBodyTooLarge
		}
		return errors.New("The request body could not be read.")
	}
	if !utf8.Valid(body) {
		return errors.New("The request body is not valid UTF-8.")
	}
	if key, ok := duplicateField(body); ok {
		return fmt.Errorf("The request has the field %q twice; send each field once.", key)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var typeErr *json.UnmarshalTypeError
		switch {
		case errors.As(err, &typeErr):
			return fmt.Errorf("The field %q has the wrong type.", typeErr.Field)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return fmt.Errorf("The request has an unknown field %s.", strings.TrimPrefix(err.Error(), "json: unknown field "))
		case errors.Is(err, io.EOF):
			return errors.New("The request body is empty.")
		default:
			return errors.New("The request body is not valid JSON.")
		}
	}
	if dec.More() {
		return errors.New("The request body must hold a single JSON object.")
	}
	return nil
}

// isJSON reports whether a Content-Type header is application/json, in
// UTF-8 if it names a charset at all.
func isJSON(contentType string) bool {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "application/json" {
		return false
	}
	cs, ok := params["charset"]
	return !ok || strings.EqualFold(cs, "utf-8")
}

// duplicateField returns the first field name that appears twice in one
// object of body, anywhere in it. Names are compared as encoding/json
// matches them to struct fields, ignoring case ("role" and "Role" set the
// same field). A body that is not valid JSON reports none: the decoder
// says what is wrong with it.
func duplicateField(body []byte) (string, bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	type frame struct {
		seen    map[string]bool // nil for an array
		wantKey bool
	}
	var stack []frame
	// valueDone marks the end of a member's value: the object wants a key.
	valueDone := func() {
		if n := len(stack); n > 0 && stack[n-1].seen != nil {
			stack[n-1].wantKey = true
		}
	}
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", false
		}
		top := len(stack) - 1
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{':
				stack = append(stack, frame{seen: map[string]bool{}, wantKey: true})
			case '[':
				stack = append(stack, frame{})
			default: // '}' or ']'
				stack = stack[:top]
				valueDone()
			}
			continue
		}
		if top >= 0 && stack[top].seen != nil && stack[top].wantKey {
			name, _ := tok.(string)
			folded := foldName(name)
			if stack[top].seen[folded] {
				return name, true
			}
			stack[top].seen[folded] = true
			stack[top].wantKey = false
			continue
		}
		valueDone()
	}
}

// foldName maps every rune to the smallest of its case-folding orbit, so
// names encoding/json treats as one field (including "K" and the Kelvin
// sign) fold to the same string.
func foldName(s string) string {
	return strings.Map(func(r rune) rune {
		min := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if f < min {
				min = f
			}
		}
		return min
	}, s)
}

// ClientIP is the client address the middleware resolved for r.
func ClientIP(r *http.Request) string { return reqctxIP(r) }
