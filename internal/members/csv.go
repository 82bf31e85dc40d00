package members

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/errs"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// ExportHeader is the first row of an export.
var ExportHeader = []string{"email", "name", "role", "status", "sign_in_methods", "mfa", "emergency_passkey", "last_sign_in", "created"}

// Export writes every member matching q (its cursors and limit ignored) to
// w as CSV, page by page, so an export of 100,000 people holds one page in
// memory. Any reader of the organization may export what they may list.
func (s *Service) Export(ctx context.Context, orgID string, q Query, w io.Writer) error {
	q.After, q.Before, q.Limit = "", "", 500
	cw := csv.NewWriter(w)
	if err := cw.Write(ExportHeader); err != nil {
		return fmt.Errorf("members: export: %w", err)
	}
	for {
		p, err := s.Search(ctx, orgID, q)
		if err != nil {
			return err
		}
		for _, m := range p.Members {
			if err := cw.Write(exportRow(m)); err != nil {
				return fmt.Errorf("members: export: %w", err)
			}
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return fmt.Errorf("members: export: %w", err)
		}
		if p.Next == "" {
			return nil
		}
		q.After = p.Next
	}
}

func exportRow(m storage.MemberListing) []string {
	var methods []string
	if m.SSOLinked {
		methods = append(methods, "sso")
	}
	if m.PasswordHash != "" {
		methods = append(methods, "password")
	}
	if m.HasPasskey {
		methods = append(methods, "passkey")
	}
	return []string{
		CSVCell(m.Email), CSVCell(m.DisplayName), string(m.Role), StatusOf(m), strings.Join(methods, " "),
		yesNo(m.HasMFA), yesNo(m.EmergencyPasskey), isoTime(m.LastSignInAt), isoTime(m.CreatedAt),
	}
}

// StatusOf is the member's status as the members page and the export name
// it: invited, active or suspended (storage.StatusFilter*).
func StatusOf(m storage.MemberListing) string {
	switch {
	case m.Status == storage.StatusSuspended:
		return storage.StatusFilterSuspended
	case m.PasswordHash == "" && m.LastSignInAt.IsZero():
		return storage.StatusFilterInvited
	}
	return storage.StatusFilterActive
}

// CSVCell guards a value against formula injection: a spreadsheet runs a
// cell that starts with = + - @ (or a tab or carriage return before one)
// as a formula, so such a cell gets a leading apostrophe, which
// spreadsheets show as text. encoding/csv does the quoting.
func CSVCell(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func isoTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// Import limits.
const (
	MaxImportBytes = 1 << 20
	MaxImportRows  = account.MaxInviteBatch
)

// Row outcomes of an import preview.
const (
	RowInvite = "invite" // will be invited
	RowMember = "member" // already a member: left alone
	RowBad    = "bad"    // not imported; Reason says why
)

// ImportRow is one line of an import file and what happens to it.
type ImportRow struct {
	Line              int // in the file, counting the header as line 1
	Email, Name, Role string
	Outcome, Reason   string
	normalizedEmail   string
}

// Preview is what an import would do, row by row.
type Preview struct {
	Rows                 []ImportRow
	Invite, Members, Bad int
}

// ErrTooLarge: the import file is over MaxImportBytes or MaxImportRows.
var ErrTooLarge = errs.NewInvalid("file", fmt.Sprintf("The file is too large: import at most %d people (1 MB) at a time.", MaxImportRows))

// PreviewImport reads a CSV file with a header row naming the columns
// email (required), name and role (optional, member when empty), and says
// for each row whether it will be invited, is already a member or is bad
// (with the reason). Nothing is written. Only admins may import, and
// only owners may invite owners (an owner row of an admin's file is bad).
func (s *Service) PreviewImport(ctx context.Context, orgID string, file []byte) (Preview, error) {
	actor, err := authz.RequireAdmin(ctx, s.store, orgID)
	if err != nil {
		return Preview{}, err
	}
	if len(file) > MaxImportBytes {
		return Preview{}, ErrTooLarge
	}
	cr := csv.NewReader(bufio.NewReader(bytes.NewReader(bytes.TrimPrefix(file, []byte("\xef\xbb\xbf")))))
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return Preview{}, errs.NewInvalid("file", "The file is empty or not CSV: the first line must name the columns, such as email,name,role.")
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	if _, ok := col["email"]; !ok {
		return Preview{}, errs.NewInvalid("file", "The first line must name the columns, and one of them must be email.")
	}
	get := func(rec []string, name string) string {
		if i, ok := col[name]; ok && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	var p Preview
	seen := map[string]int{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				line = pe.StartLine
			}
			p.add(ImportRow{Line: line, Outcome: RowBad, Reason: "This line is not valid CSV."})
			if errors.As(err, &pe) && pe.Err == csv.ErrFieldCount {
				continue
			}
			// The reader cannot find the next row reliably after a
			// broken quote: stop, and say so on the row.
			break
		}
		if len(p.Rows) >= MaxImportRows {
			return Preview{}, ErrTooLarge
		}
		row := ImportRow{Line: line, Email: get(rec, "email"), Name: get(rec, "name"), Role: strings.ToLower(get(rec, "role"))}
		if row.Email == "" && row.Name == "" && row.Role == "" {
			continue // a blank line
		}
		s.judge(ctx, orgID, actor.IsOwner(), &row, seen)
		p.add(row)
	}
	return p, nil
}

func (p *Preview) add(r ImportRow) {
	p.Rows = append(p.Rows, r)
	switch r.Outcome {
	case RowInvite:
		p.Invite++
	case RowMember:
		p.Members++
	default:
		p.Bad++
	}
}

// judge decides one row's outcome. It applies every rule the invitation
// itself applies (account.InviteMany), so a row the preview calls "will be
// invited" cannot fail the whole batch at confirmation: owner is a role
// only an owner grants, and a name may hold no control characters (a line
// break in a quoted CSV field would otherwise reach mail headers' and
// logs' neighbours).
func (s *Service) judge(ctx context.Context, orgID string, owner bool, row *ImportRow, seen map[string]int) {
	bad := func(reason string) { row.Outcome, row.Reason = RowBad, reason }
	email, err := account.NormalizeEmail(row.Email)
	if err != nil {
		if row.Email == "" {
			bad("The email is missing.")
		} else {
			bad("The email address is not valid.")
		}
		return
	}
	row.normalizedEmail = email
	if first, dup := seen[email]; dup {
		bad(fmt.Sprintf("The same email is on line %d.", first))
		return
	}
	seen[email] = row.Line
	switch storage.Role(row.Role) {
	case "":
		row.Role = string(storage.RoleMember)
	case storage.RoleMember, storage.RoleAdmin:
	case storage.RoleOwner:
		if !owner {
			bad("Only an owner can invite an owner.")
			return
		}
	default:
		bad("The role must be member, admin or owner.")
		return
	}
	if len([]rune(row.Name)) > 100 {
		bad("The name is longer than 100 characters.")
		return
	}
	if strings.ContainsFunc(row.Name, unicode.IsControl) {
		bad("The name cannot contain control characters.")
		return
	}
	a, err := s.store.GetAccountByEmail(ctx, email)
	switch {
	case err == nil && a.OrgID == orgID:
		row.Outcome, row.Reason = RowMember, "Already a member; left as they are."
	case err == nil:
		bad("Someone with this email address already has an account.")
	case errors.Is(err, storage.ErrNotFound):
		row.Outcome = RowInvite
	default:
		bad("This row could not be checked; try again.")
		s.log.ErrorContext(ctx, "import: look up email", "err", err)
	}
}

// Import re-reads the file (the admin confirmed its preview) and invites
// every row that would still be invited, in one transaction with an audit
// event per person and one for the batch; bad rows and members are not
// touched. It returns the preview it acted on and the people invited.
func (s *Service) Import(ctx context.Context, orgID string, file []byte) (Preview, []storage.Account, error) {
	p, err := s.PreviewImport(ctx, orgID, file)
	if err != nil {
		return p, nil, err
	}
	var ins []account.MemberInput
	for _, r := range p.Rows {
		if r.Outcome == RowInvite {
			ins = append(ins, account.MemberInput{Email: r.normalizedEmail, DisplayName: r.Name, Role: storage.Role(r.Role), Invite: true})
		}
	}
	if len(ins) == 0 {
		return p, nil, errs.NewInvalid("file", "There is nobody new to invite in this file.")
	}
	accts, err := s.accounts.InviteMany(ctx, orgID, ins)
	return p, accts, err
}
