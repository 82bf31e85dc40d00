package emergency

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// Mail to admins goes out after the change committed (notify.Admins.Send
// logs its own failures): the change stands whether or not mail works,
// which during an outage of the organization's mail it may not.

func (s *Service) orgName(ctx context.Context, orgID string) string {
	if o, err := s.store.GetOrganization(ctx, orgID); err == nil {
		return o.Name
	}
	return orgID
}

// scopeOf names the policies e covers, for people.
func scopeOf(ctx context.Context, st storage.Policies, e storage.Emergency) string {
	if !e.Scoped {
		return "the whole organization"
	}
	var names []string
	for _, id := range e.PolicyIDs {
		if p, err := st.GetPolicy(ctx, e.OrgID, id); err == nil {
			names = append(names, p.Name)
		} else {
			names = append(names, id)
		}
	}
	return "the policies " + strings.Join(names, ", ")
}

func who(typ, id, email string) string {
	switch {
	case email != "":
		return email
	case typ == "cli":
		return "the command line (" + id + ")"
	case typ == "system":
		return "Gatehouse (" + id + ")"
	}
	return typ + " " + id
}

func stamp(t time.Time) string { return t.UTC().Format("Mon 2 Jan 2006 15:04 MST") }

func (s *Service) mailStarted(ctx context.Context, e storage.Emergency, scope string) {
	org := s.orgName(ctx, e.OrgID)
	var b strings.Builder
	fmt.Fprintf(&b, "Emergency sign-in (failback mode) has started in %s.\n\n", org)
	fmt.Fprintf(&b, "Reason: %s\nStarted by: %s\nCovers: %s\nEnds: %s unless extended or ended earlier\n\n",
		e.Reason, who(e.StartedByType, e.StartedByID, e.StartedByEmail), scope, stamp(e.EndsAt))
	b.WriteString("While it lasts, eligible people whose policy enforces SSO can sign in with an emergency passkey or a password set through the reset mail. ")
	b.WriteString("Passwords set during it stop working when it ends.\n\n")
	b.WriteString("If you did not expect this, check the admin console's Emergency page and the audit log now.\n")
	s.notifier.Send(ctx, e.OrgID, "Emergency sign-in started in "+org, b.String())
}

func (s *Service) mailExtended(ctx context.Context, e storage.Emergency) {
	org := s.orgName(ctx, e.OrgID)
	text := fmt.Sprintf("Emergency sign-in (failback mode) in %s has been extended.\n\nReason: %s\nNow ends: %s\n",
		org, e.Reason, stamp(e.EndsAt))
	s.notifier.Send(ctx, e.OrgID, "Emergency sign-in extended in "+org, text)
}

func (s *Service) mailEnded(ctx context.Context, xs []ended) {
	for _, x := range xs {
		e := x.Emergency
		org := s.orgName(ctx, e.OrgID)
		var b strings.Builder
		if x.how == storage.EmergencyExpired {
			fmt.Fprintf(&b, "Emergency sign-in (failback mode) in %s ran out at %s.\n\n", org, stamp(e.EndedAt))
		} else {
			fmt.Fprintf(&b, "Emergency sign-in (failback mode) in %s was ended by %s at %s.\n\n",
				org, who(e.EndedByType, e.EndedByID, e.EndedByEmail), stamp(e.EndedAt))
		}
		fmt.Fprintf(&b, "Reason it was started: %s\n", e.Reason)
		fmt.Fprintf(&b, "Passwords set during it, which no longer work: %d\n", x.PasswordsCleared)
		if x.SessionsRevoked > 0 {
			fmt.Fprintf(&b, "Sessions made during it, signed out now: %d\n", x.SessionsRevoked)
		} else {
			b.WriteString("Sessions made during it run to their own expiry; you can sign them out from the console's Emergency page.\n")
		}
		b.WriteString("\nSign-in goes through SSO again for everyone under policies that enforce it.\n")
		s.notifier.Send(ctx, e.OrgID, "Emergency sign-in ended in "+org, b.String())
	}
}
