package sqlstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

// A request's deadline reaches the database: a statement blocked behind
// another session's lock (a long migration, a stuck transaction) ends
// with the context's error when the deadline passes, instead of waiting
// for the lock however long it is held. Both drivers must honour it.
func TestBlockedStatementEndsAtTheDeadline(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, s storage.Store) {
		st := s.(*sqlstore.Store)
		release := make(chan struct{})
		held := make(chan error, 1)
		done := make(chan struct{})
		go func() {
			defer close(done)
			// Another session holds what the blocked call needs until the
			// test ends: every table on SQLite (its single write lock),
			// the accounts table on PostgreSQL.
			tx, err := st.DB().BeginTx(context.Background(), nil)
			if err != nil {
				held <- err
				return
			}
			defer func() { _ = tx.Rollback() }()
			if st.Dialect() == sqlstore.DialectPostgres {
				_, err = tx.Exec(`LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE`)
			} else {
				_, err = tx.Exec(`INSERT INTO throttles (throttle_key, failures, window_start, last_failure) VALUES ('lock', 1, 0, 0)`)
			}
			held <- err
			<-release
		}()
		if err := <-held; err != nil {
			t.Fatalf("take the lock: %v", err)
		}
		defer func() { close(release); <-done }()

		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		var err error
		if st.Dialect() == sqlstore.DialectPostgres {
			_, err = st.ListAccounts(ctx, "org")
		} else {
			_, err = st.RecordFailure(ctx, "ip:192.0.2.1", time.Now(), time.Minute)
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("blocked call returned %v, want the deadline's error", err)
		}
	})
}
