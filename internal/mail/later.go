package mail

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// SendTimeout bounds one background send.
const SendTimeout = 30 * time.Second

// Later delivers messages in the background, after the caller's
// transaction has committed: a request never waits on SMTP (so how long it
// takes says nothing about whether an account exists), and a failure is
// logged, never returned. Wait waits for what is under way (tests,
// shutdown). The zero value with a nil Sender drops every message with a
// warning.
type Later struct {
	Sender Sender
	Log    *slog.Logger
	sends  sync.WaitGroup
}

// Send queues ms (sent one after another, each within SendTimeout). ctx's
// values (the request ID for the log) are kept, its cancellation is not:
// the request ends long before the mail is out.
func (l *Later) Send(ctx context.Context, ms ...Message) {
	log := discardIfNil(l.Log)
	if l.Sender == nil {
		for _, m := range ms {
			log.WarnContext(ctx, "no mail sender configured; message dropped", "to", m.To, "subject", m.Subject)
		}
		return
	}
	if len(ms) == 0 {
		return
	}
	base := context.WithoutCancel(ctx)
	l.sends.Go(func() {
		for _, m := range ms {
			ctx, cancel := context.WithTimeout(base, SendTimeout)
			if err := l.Sender.Send(ctx, m); err != nil {
				log.ErrorContext(ctx, "sending mail failed", "to", m.To, "subject", m.Subject, "err", err)
			}
			cancel()
		}
	})
}

// Wait waits for the messages under way.
func (l *Later) Wait() { l.sends.Wait() }
