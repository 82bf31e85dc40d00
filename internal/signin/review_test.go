package signin_test

// The review's attacks on the engine itself: steps taken while another
// step of the same flow is under way, and steps a flow has outgrown.

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

// racingStore lets a test act between an engine step's read of a flow
// and its write: once armed, the next GetLoginFlow of the flow runs
// between() after reading it, as a concurrent request would.
type racingStore struct {
	storage.Store
	mu      sync.Mutex
	flow    string
	between func()
}

func (s *racingStore) arm(flow string, between func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.flow, s.between = flow, between
}

func (s *racingStore) GetLoginFlow(ctx context.Context, id string) (storage.LoginFlow, error) {
	f, err := s.Store.GetLoginFlow(ctx, id)
	s.mu.Lock()
	fn := s.between
	if id == s.flow {
		s.between = nil
	}
	s.mu.Unlock()
	if fn != nil && id == s.flow {
		fn()
	}
	return f, err
}

// TestReviewBeginSSODoesNotTakeAFlowBeingChecked: a password submitted to
// a flow claims it ("checking") so that only one submit at a time is
// checked. An SSO start that read the flow just before must not then
// overwrite that claim, or a second password could be checked beside the
// first.
func TestReviewBeginSSODoesNotTakeAFlowBeingChecked(t *testing.T) {
	st := &racingStore{Store: sqltest.NewSQLite(t)}
	e := newEnv(t, st)
	e.setDefault(storage.SSOOptional)
	e.member("ann@"+corpDomain, storage.RoleMember)
	step, err := e.engine.Identify(e.ctx, browser(), "ann@"+corpDomain, "/", false)
	must(t, err)
	c := browser()
	c.Browser = step.Browser

	// Between BeginSSO's read and its write, a password submit claims the
	// flow (as Password does before checking).
	st.arm(step.FlowID, func() {
		_, err := st.Store.UpdateLoginFlow(e.ctx, step.FlowID, func(f *storage.LoginFlow) error {
			f.Step = "checking"
			return nil
		})
		must(t, err)
	})
	if _, _, err := e.engine.BeginSSO(e.ctx, c, step.FlowID, ""); err == nil {
		t.Error("BeginSSO went ahead on a flow whose password was being checked")
	}
	f, err := st.Store.GetLoginFlow(e.ctx, step.FlowID)
	must(t, err)
	if f.Step != "checking" {
		t.Errorf("the password check's claim was overwritten: step %q", f.Step)
	}
	// So a second password submit meanwhile is refused.
	if _, err := e.engine.Password(e.ctx, c, step.FlowID, password, ""); err == nil || errors.Is(err, account.ErrBadCredentials) {
		t.Errorf("a second password submit while the first is checked: %v", err)
	}
}

// TestReviewStepsAfterTheSession: once a flow issued its session, nothing
// more can be done with it, from the same browser or with its secret.
func TestReviewStepsAfterTheSession(t *testing.T) {
	e := newEnv(t, sqltest.NewSQLite(t))
	e.setDefault(storage.SSOOptional)
	e.member("ann@"+corpDomain, storage.RoleMember)
	step, err := e.engine.Identify(e.ctx, browser(), "ann@"+corpDomain, "/", false)
	must(t, err)
	c := browser()
	c.Browser = step.Browser
	if _, err := e.engine.Password(e.ctx, c, step.FlowID, password, ""); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.engine.BeginSSO(e.ctx, c, step.FlowID, ""); err == nil {
		t.Error("BeginSSO on a spent flow")
	}
	if _, err := e.engine.Show(e.ctx, c, step.FlowID); err == nil {
		t.Error("Show on a spent flow")
	}
	if _, err := e.engine.Password(e.ctx, c, step.FlowID, password, ""); err == nil {
		t.Error("a second session from one flow")
	}
}
