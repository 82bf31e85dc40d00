package httpserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"
)

// ErrBodyTooLarge is returned when a request body exceeds its limit.
var ErrBodyTooLarge = errors.New("The request is too large.")

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
// unknown fields, invalid UTF-8, trailing data and bodies over MaxFormBody.
// Its error texts are safe to show; ErrBodyTooLarge should become HTTP 413.
func DecodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return errors.New("The request body must be JSON (Content-Type: application/json).")
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
	dec := json.NewDecoder(strings.NewReader(string(body)))
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

// ClientIP is the client address the middleware resolved for r.
func ClientIP(r *http.Request) string { return reqctxIP(r) }
