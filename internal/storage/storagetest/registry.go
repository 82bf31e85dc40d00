package storagetest

import (
	"sync"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// Backend opens a fresh, empty (migrated) store for one test and closes it
// when the test ends; it skips the test when its database is not available.
type Backend func(t testing.TB) storage.Store

var (
	registryMu sync.Mutex
	registry   []registered
)

type registered struct {
	name string
	open Backend
}

// Register makes a storage backend known to the suite under name. A
// backend's test helper package registers itself (sqlstore's sqltest does,
// in init), so storagetest needs no import of any backend. Registering a
// name twice panics: two backends would silently shadow each other.
func Register(name string, open Backend) {
	registryMu.Lock()
	defer registryMu.Unlock()
	for _, r := range registry {
		if r.name == name {
			panic("storagetest: backend " + name + " registered twice")
		}
	}
	registry = append(registry, registered{name, open})
}

// Backends returns the names of the registered backends, in registration
// order.
func Backends() []string {
	registryMu.Lock()
	defer registryMu.Unlock()
	out := make([]string, 0, len(registry))
	for _, r := range registry {
		out = append(out, r.name)
	}
	return out
}

// RunRegistered runs the conformance suite against every registered
// backend, each as a subtest named after it. It fails when none is
// registered: a suite that ran against nothing proves nothing.
func RunRegistered(t *testing.T) {
	registryMu.Lock()
	backends := append([]registered(nil), registry...)
	registryMu.Unlock()
	if len(backends) == 0 {
		t.Fatal("storagetest: no storage backend registered (import a backend's test package, e.g. sqlstore/sqltest)")
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			RunTests(t, func(t *testing.T) storage.Store { return b.open(t) })
		})
	}
}
