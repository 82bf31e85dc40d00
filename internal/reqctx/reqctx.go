// Package reqctx carries who is acting and from where through a request's
// context, so services can write audit events and log lines without knowing
// anything of HTTP or the CLI.
package reqctx

import (
	"context"
	"log/slog"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Info describes the request or command on whose behalf code runs.
type Info struct {
	RequestID  string
	IP         string
	UserAgent  string
	ActorType  string // "account", "api_token", "cli", "system", "anonymous"
	ActorID    string
	ActorEmail string
}

type key struct{}

// With returns ctx carrying info.
func With(ctx context.Context, info Info) context.Context {
	return context.WithValue(ctx, key{}, info)
}

// From returns the Info in ctx, or a zero Info.
func From(ctx context.Context) Info {
	info, _ := ctx.Value(key{}).(Info)
	return info
}

// WithActor returns ctx whose Info names a new actor, keeping request fields.
func WithActor(ctx context.Context, actorType, actorID, actorEmail string) context.Context {
	info := From(ctx)
	info.ActorType, info.ActorID, info.ActorEmail = actorType, actorID, actorEmail
	return With(ctx, info)
}

// LogHandler wraps h so every record logged with a context carrying a
// request ID gets a request_id attribute.
func LogHandler(h slog.Handler) slog.Handler { return logHandler{h} }

type logHandler struct{ slog.Handler }

func (l logHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := From(ctx).RequestID; id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	return l.Handler.Handle(ctx, r)
}

func (l logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return logHandler{l.Handler.WithAttrs(attrs)}
}

func (l logHandler) WithGroup(name string) slog.Handler {
	return logHandler{l.Handler.WithGroup(name)}
}

// MaxUserAgent bounds a stored or logged User-Agent.
const MaxUserAgent = 256

// CleanUserAgent makes a browser's User-Agent safe to store and log: valid
// UTF-8, no control characters, at most MaxUserAgent bytes cut on a
// character boundary. A header is the browser's to write, and PostgreSQL
// refuses invalid UTF-8.
func CleanUserAgent(ua string) string {
	ua = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, strings.ToValidUTF8(ua, ""))
	if len(ua) > MaxUserAgent {
		n := MaxUserAgent
		for n > 0 && !utf8.RuneStart(ua[n]) {
			n--
		}
		ua = ua[:n]
	}
	return ua
}
