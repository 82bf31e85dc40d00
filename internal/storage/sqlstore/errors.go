package sqlstore

import (
	"database/sql"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// PostgreSQL SQLSTATEs we act on.
const (
	pgUniqueViolation      = "23505"
	pgForeignKeyViolation  = "23503"
	pgSerializationFailure = "40001"
	pgDeadlockDetected     = "40P01"
	// invalid byte sequence for the UTF-8 database, NUL bytes included
	pgCharacterNotInRepertoire = "22021"
)

// wrapErr adds context to a database error and maps it to the storage
// sentinels: no rows → ErrNotFound, unique violation → ErrConflict, a
// reference to a missing row (foreign key) → ErrNotFound. The driver error
// stays in the chain so logs keep the constraint name.
func wrapErr(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	what := fmt.Sprintf(format, args...)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("sqlstore: %s: %w", what, storage.ErrNotFound)
	case isUniqueViolation(err):
		return fmt.Errorf("sqlstore: %s: %w: %w", what, storage.ErrConflict, err)
	case isForeignKeyViolation(err):
		return fmt.Errorf("sqlstore: %s: referenced record %w: %w", what, storage.ErrNotFound, err)
	case isNotText(err):
		// A key from a URL path ("/admin/domains/%ff") that PostgreSQL cannot
		// even represent names no record, as it does on SQLite; without this
		// such a lookup was a server error on one backend only. Services
		// validate text before writing, so writes do not get here.
		return fmt.Errorf("sqlstore: %s: key is not valid text: %w", what, storage.ErrNotFound)
	}
	return fmt.Errorf("sqlstore: %s: %w", what, err)
}

func isUniqueViolation(err error) bool {
	if pe, ok := errors.AsType[*pgconn.PgError](err); ok {
		return pe.Code == pgUniqueViolation
	}
	if se, ok := errors.AsType[*sqlite.Error](err); ok {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

func isNotText(err error) bool {
	pe, ok := errors.AsType[*pgconn.PgError](err)
	return ok && pe.Code == pgCharacterNotInRepertoire
}

func isForeignKeyViolation(err error) bool {
	if pe, ok := errors.AsType[*pgconn.PgError](err); ok {
		return pe.Code == pgForeignKeyViolation
	}
	if se, ok := errors.AsType[*sqlite.Error](err); ok {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
	}
	return false
}

// retryable reports whether a failed transaction may succeed if run again.
func retryable(err error) bool {
	if pe, ok := errors.AsType[*pgconn.PgError](err); ok {
		return pe.Code == pgSerializationFailure || pe.Code == pgDeadlockDetected
	}
	if se, ok := errors.AsType[*sqlite.Error](err); ok {
		// Extended result codes are on; the low byte is the primary code.
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return true
		}
	}
	return false
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
