package account

import (
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

// A Service built without settings uses the default configuration's
// values, so they cannot drift from internal/config.
func TestZeroConfigTakesConfigDefaults(t *testing.T) {
	s := New(sqltest.NewSQLite(t), nil, Config{SecretKey: make([]byte, 32)}, nil, time.Now)
	def := config.Default()
	c := s.cfg
	if c.SetupTTL != def.Tokens.SetupTTL || c.ResetTTL != def.Tokens.ResetTTL || c.InviteTTL != def.Tokens.InviteTTL {
		t.Errorf("token TTLs %v %v %v, want %+v", c.SetupTTL, c.ResetTTL, c.InviteTTL, def.Tokens)
	}
	th := c.Throttle
	if th.Window != def.Throttle.Window || th.AccountLimit != def.Throttle.AccountLimit || th.IPLimit != def.Throttle.IPLimit ||
		th.BaseDelay != def.Throttle.BaseDelay || th.MaxDelay != def.Throttle.MaxDelay || th.DeviceLimit != def.Throttle.DeviceLimit {
		t.Errorf("throttle %+v, want %+v", th, def.Throttle)
	}
	if c.Hashing.MaxConcurrent != def.Passwords.MaxConcurrentHashes || c.Hashing.Wait != def.Passwords.HashWait {
		t.Errorf("hashing %+v, want %+v", c.Hashing, def.Passwords)
	}
}
