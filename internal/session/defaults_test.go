package session

import (
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

// A Service built without settings behaves as the default configuration
// says, so the values cannot drift from internal/config.
func TestZeroConfigTakesConfigDefaults(t *testing.T) {
	s := New(sqltest.NewSQLite(t), Config{}, nil, time.Now)
	def := config.Default()
	def.Session.StaleAfter = config.StaleFactor * def.Session.PollInterval
	want := Config{
		IdleTimeout: def.Session.IdleTimeout, MaxLifetime: def.Session.MaxLifetime,
		TouchInterval: config.SessionTouchInterval, PollInterval: def.Session.PollInterval,
		CacheTTL: config.SessionCacheTTL, StaleAfter: def.Session.StaleAfter,
	}
	if s.cfg != want {
		t.Errorf("zero Config became %+v, want %+v", s.cfg, want)
	}
}
