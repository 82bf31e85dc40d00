package account

import (
	"context"
	"strconv"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/mail"
	"github.com/gatehouse-id/gatehouse/internal/reqctx"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// MaxInviteBatch bounds InviteMany: one transaction holds the whole batch.
const MaxInviteBatch = 1000

// InviteMany adds and invites several people in one transaction: either
// every one of them is added (each with its account.create event, and one
// account.import event naming the batch size) or none is, and the
// invitation mails go out only after the commit. Each input is checked as
// AddMember checks it; the first refusal ends the batch with an error that
// names the email. Passwords are not accepted here.
func (s *Service) InviteMany(ctx context.Context, orgID string, ins []MemberInput) ([]storage.Account, error) {
	if err := checkID("org_id", "organization", orgID); err != nil {
		return nil, err
	}
	if len(ins) == 0 {
		return nil, &InvalidInputError{Field: "file", Message: "There is nobody to invite."}
	}
	if len(ins) > MaxInviteBatch {
		return nil, &InvalidInputError{Field: "file", Message: "Invite at most " + strconv.Itoa(MaxInviteBatch) + " people at a time."}
	}
	now := s.clock()
	accts := make([]storage.Account, 0, len(ins))
	owner := false
	for _, in := range ins {
		email, err := NormalizeEmail(in.Email)
		if err != nil {
			return nil, err
		}
		display, err := cleanText("display_name", "The name", in.DisplayName, 100, true)
		if err != nil {
			return nil, err
		}
		if in.Role == "" {
			in.Role = storage.RoleMember
		}
		if err := checkRole(in.Role); err != nil {
			return nil, err
		}
		owner = owner || in.Role == storage.RoleOwner
		accts = append(accts, storage.Account{
			ID: uuid.NewString(), OrgID: orgID, Email: email, DisplayName: display,
			Role: in.Role, Status: storage.StatusActive, CreatedAt: now, UpdatedAt: now, Version: 1,
		})
	}
	var org storage.Organization
	var out []storage.Account
	var secrets []string
	err := s.store.InTx(ctx, func(tx storage.Store) error {
		out, secrets = out[:0], secrets[:0] // InTx may retry
		var err error
		if org, err = tx.GetOrganization(ctx, orgID); err != nil {
			return mapErr(err, "organization "+strconv.Quote(orgID))
		}
		if err := requireAdminFor(ctx, tx, orgID, owner); err != nil {
			return err
		}
		for _, a := range accts {
			acct, err := s.createAccountTx(ctx, tx, a, now, map[string]string{"invited": "true", "import": "true"})
			if err != nil {
				return err
			}
			secret, err := s.newOneTimeToken(ctx, tx, storage.PurposeInvite, acct, s.cfg.InviteTTL, reqctx.From(ctx).IP, now)
			if err != nil {
				return err
			}
			out, secrets = append(out, acct), append(secrets, secret)
		}
		return s.record(ctx, tx, now, storage.AuditEvent{
			OrgID: orgID, Action: "account.import", TargetType: "organization", TargetID: orgID,
			Details: map[string]string{"invited": strconv.Itoa(len(out))},
		})
	})
	if err != nil {
		return nil, err
	}
	msgs := make([]mail.Message, len(out))
	for i, acct := range out {
		msgs[i] = inviteMail(org, acct, s.link("/reset", secrets[i], "invite=1"), s.cfg.InviteTTL, s.ssoLogin(ctx, acct))
	}
	for _, m := range msgs {
		s.sendLater(ctx, m)
	}
	return out, nil
}
