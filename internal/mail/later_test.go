package mail

import (
	"context"
	"testing"
)

// Later hands every queued message to the sender in the background;
// Wait returns once they are out. Without a sender nothing is sent.
func TestLaterSendsAfterTheCaller(t *testing.T) {
	dir := t.TempDir()
	l := &Later{Sender: &Outbox{Dir: dir}}
	l.Send(context.Background(), Message{To: "a@example.com", Subject: "One", Text: "1"},
		Message{To: "b@example.com", Subject: "Two", Text: "2"})
	l.Wait()
	msgs, err := ReadOutbox(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 {
		t.Fatalf("%d messages in the outbox, want 2", len(msgs))
	}
	var none Later
	none.Send(context.Background(), Message{To: "c@example.com", Subject: "Dropped"})
	none.Wait()
}
