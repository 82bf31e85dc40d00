package app

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore"
)

// NoDatabaseError is OpenWith's error, under Options.ExistingOnly, when what
// the server keeps is not where the configuration points: its message names
// the place looked in and every way to point the command elsewhere.
type NoDatabaseError struct {
	DataDir string // the data directory the configuration names, absolute
	Missing string // the file or directory that is not there
	What    string // what is missing, in words ("Gatehouse database")
}

func (e *NoDatabaseError) Error() string {
	where := fmt.Sprintf("in the data directory %s", e.DataDir)
	switch {
	case e.Missing == e.DataDir:
		where = "the data directory"
	case strings.Contains(e.Missing, "://"):
		where = "the database the configuration names"
	}
	return fmt.Sprintf("no %s at %s (%s). This command creates nothing: `gatehouse serve` creates the data on its first start.\n"+
		"Point it at the server's data with --data-dir or GATEHOUSE_DATA_DIR, at the server's PostgreSQL database with\n"+
		"--database-url or GATEHOUSE_DATABASE_URL, or at the server's configuration file with --config or GATEHOUSE_CONFIG.",
		e.What, e.Missing, where)
}

func absDir(dir string) string {
	if abs, err := filepath.Abs(dir); err == nil {
		return abs
	}
	return dir
}

// checkExisting fails with *NoDatabaseError when what the server keeps
// is not where cfg points: the data directory and SQLite file (for SQLite),
// and the secret key, which is checked before the database is even opened
// because a new key would not unseal what the server sealed with its own.
// A PostgreSQL database that was never migrated is refused after connecting
// (OpenWith, HasSchema).
func checkExisting(cfg config.Config, dbURL string) error {
	dir := absDir(cfg.DataDir)
	if path, ok := sqlstore.SQLitePath(dbURL); ok {
		if cfg.DatabaseURL == "" {
			if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
				return &NoDatabaseError{DataDir: dir, Missing: dir, What: "Gatehouse data directory"}
			}
		}
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return &NoDatabaseError{DataDir: dir, Missing: absDir(path), What: "Gatehouse database"}
		} else if err != nil {
			return fmt.Errorf("app: database %s: %w", path, err)
		}
	}
	if cfg.SecretKey != "" {
		return nil
	}
	keyFile := filepath.Join(cfg.DataDir, "secret.key")
	if _, err := os.Stat(keyFile); !errors.Is(err, fs.ErrNotExist) {
		return nil // present, or unreadable: loadSecretKey says which
	}
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return &NoDatabaseError{DataDir: dir, Missing: dir, What: "Gatehouse data directory"}
	}
	return &NoDatabaseError{DataDir: dir, Missing: absDir(keyFile),
		What: "secret key (the server's secret_key setting, or secret.key in its data directory)"}
}

// redactURL hides a password in a database URL about to be printed.
func redactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.User == nil {
		return u
	}
	if _, has := p.User.Password(); has {
		p.User = url.UserPassword(p.User.Username(), "xxxxx")
	}
	return p.String()
}
