// Package seed fills a Gatehouse database with a large organization for
// the console benchmarks: members (and their sign-ins) and audit events,
// written straight into storage in large transactions. It is for
// benchmarks and tests only: the accounts have a fixed dummy password
// hash that no password matches.
package seed

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// DummyHash is a well-formed argon2id string no password matches.
const DummyHash = "$argon2id$v=19$m=19456,t=2,p=1$c2VlZHNlZWRzZWVk$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

var firstNames = []string{"Ada", "Alan", "Grace", "Margaret", "Katherine", "Dorothy", "Edsger", "Barbara", "Donald", "Frances",
	"Radia", "Ken", "Dennis", "Leslie", "Shafi", "Tim", "Vint", "Hedy", "Mary", "John", "Sophie", "Karen", "Lynn", "Maria",
	"Marco", "Émilie", "Jean", "Ole", "Niklaus", "Tony", "Robin", "Juris", "Bjarne", "Guido", "Yukihiro", "Anita", "Fran"}

var lastNames = []string{"Lovelace", "Turing", "Hopper", "Hamilton", "Johnson", "Vaughan", "Dijkstra", "Liskov", "Knuth",
	"Allen", "Perlman", "Thompson", "Ritchie", "Lamport", "Goldwasser", "Berners-Lee", "Cerf", "Lamarr", "Jackson", "Backus",
	"Wilson", "Spärck Jones", "Conway", "Mayer", "Dahl", "Wirth", "Hoare", "Milner", "Hartmanis", "Stroustrup", "Borg"}

// Name is the i-th seeded member's display name and email.
func Name(i int, domain string) (name, email string) {
	f, l := firstNames[i%len(firstNames)], lastNames[(i/len(firstNames))%len(lastNames)]
	return f + " " + l, fmt.Sprintf("m%06d@%s", i, domain)
}

// Organization creates an organization with an owner and returns them.
func Organization(ctx context.Context, st storage.Store, name, ownerEmail string, now time.Time) (storage.Organization, storage.Account, error) {
	org := storage.Organization{ID: uuid.NewString(), Slug: "bench-" + uuid.NewString()[:8], Name: name, CreatedAt: now}
	if err := st.CreateOrganization(ctx, org); err != nil {
		return org, storage.Account{}, fmt.Errorf("create organization: %w", err)
	}
	owner := storage.Account{ID: uuid.NewString(), OrgID: org.ID, Email: ownerEmail, DisplayName: "Bench Owner",
		PasswordHash: DummyHash, PasswordChangedAt: now, PasswordOrigin: storage.PasswordOpen,
		Role: storage.RoleOwner, Status: storage.StatusActive, CreatedAt: now, UpdatedAt: now, Version: 1}
	if err := st.CreateAccount(ctx, owner); err != nil {
		return org, owner, fmt.Errorf("create owner: %w", err)
	}
	return org, owner, nil
}

// Members writes n members of orgID (Name(i, domain)), batch per
// transaction. One in ten has signed in (a session, so last sign-in is
// set), one in fifty is suspended, one in twenty is invited (no
// password, no sign-in). created_at runs one second apart from now-n s.
func Members(ctx context.Context, st storage.Store, orgID, domain string, n, batch int, now time.Time) error {
	if batch <= 0 {
		batch = 5000
	}
	for start := 0; start < n; start += batch {
		end := min(start+batch, n)
		err := st.InTx(ctx, func(tx storage.Store) error {
			for i := start; i < end; i++ {
				name, email := Name(i, domain)
				created := now.Add(-time.Duration(n-i) * time.Second)
				a := storage.Account{ID: uuid.NewString(), OrgID: orgID, Email: email, DisplayName: name,
					PasswordHash: DummyHash, PasswordChangedAt: created, PasswordOrigin: storage.PasswordOpen,
					Role: storage.RoleMember, Status: storage.StatusActive, CreatedAt: created, UpdatedAt: created, Version: 1}
				switch {
				case i%50 == 7:
					a.Status = storage.StatusSuspended
				case i%20 == 3:
					a.PasswordHash, a.PasswordChangedAt, a.PasswordOrigin = "", time.Time{}, ""
				}
				if i%997 == 0 {
					a.Role = storage.RoleAdmin
				}
				if err := tx.CreateAccount(ctx, a); err != nil {
					return err
				}
				if i%10 == 1 && a.PasswordHash != "" {
					at := created.Add(time.Duration(i%86400) * time.Second)
					if err := tx.CreateSession(ctx, storage.Session{ID: uuid.NewString(), TokenHash: uuid.NewString(),
						AccountID: a.ID, OrgID: orgID, Method: "password", CreatedAt: at, LastSeenAt: at,
						IdleTimeout: time.Hour, ExpiresAt: at.Add(time.Hour), IP: "127.0.0.1", UserAgent: "seed",
						AMR: []string{"pwd"}, AuthTime: at}); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("seed members %d–%d: %w", start, end, err)
		}
	}
	return nil
}

// Audit appends n audit events to orgID's chain (through audit.Record,
// so the chain verifies), batch per transaction, one second apart ending
// at now, acted by actorID on rotating targets.
func Audit(ctx context.Context, st storage.Store, orgID, actorID string, n, batch int, now time.Time) error {
	if batch <= 0 {
		batch = 5000
	}
	ctx = authz.AsCLI(ctx, "seed")
	actions := []string{"login.success", "login.failure", "account.create", "session.revoke_all", "policy.member_set", "account.suspend"}
	for start := 0; start < n; start += batch {
		end := min(start+batch, n)
		err := st.InTx(ctx, func(tx storage.Store) error {
			for i := start; i < end; i++ {
				e := storage.AuditEvent{OrgID: orgID, Action: actions[i%len(actions)], ActorType: "account", ActorID: actorID,
					TargetType: "account", TargetID: fmt.Sprintf("target-%d", i%5000),
					Time: now.Add(-time.Duration(n-i) * time.Second), Details: map[string]string{"seq": fmt.Sprint(i)}}
				if i%7 == 0 {
					e.Outcome = "failure"
				}
				if err := audit.Record(ctx, tx, e); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("seed audit %d–%d: %w", start, end, err)
		}
	}
	return nil
}
