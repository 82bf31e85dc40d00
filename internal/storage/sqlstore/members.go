package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// maxMemberPage bounds MemberQuery.Limit.
const maxMemberPage = 500

// prefixEnd is appended to a prefix to make the exclusive end of its range:
// every key that starts with the prefix sorts (bytewise) below it.
const prefixEnd = "\U0010FFFF"

// listingCols are the extra columns of a MemberListing, computed per row
// of the page only (correlated subqueries, each on an index). The policy
// is the one that covers the account by the one resolution rule
// (resolvedPolicy): explicit member, IdP group, email domain, default.
func (s *Store) listingCols() string {
	return listingFlags + `,
	COALESCE(` + s.resolvedPolicy("a") + `, '')`
}

const listingFlags = `, a.last_sign_in_at,
	EXISTS (SELECT 1 FROM sso_links l WHERE l.account_id = a.id),
	EXISTS (SELECT 1 FROM passkeys p WHERE p.account_id = a.id),
	(EXISTS (SELECT 1 FROM mfa_totp t WHERE t.account_id = a.id AND t.confirmed_at > 0)
	 OR EXISTS (SELECT 1 FROM passkeys p WHERE p.account_id = a.id AND p.emergency = 0)),
	EXISTS (SELECT 1 FROM passkeys p WHERE p.account_id = a.id AND p.emergency = 1 AND p.clone_suspected_at = 0)`

// SearchMembers returns one keyset page of q.
func (s *Store) SearchMembers(ctx context.Context, q storage.MemberQuery) (storage.MemberPage, error) {
	narrow := false
	if q.Prefix != "" && s.dialect != DialectPostgres && (q.Sort == storage.SortLastSignIn || q.Sort == storage.SortCreated) {
		var err error
		if narrow, err = s.narrowPrefix(ctx, q.OrgID, q.Prefix); err != nil {
			return storage.MemberPage{}, err
		}
	}
	sq, err := s.memberSQL(q, narrow)
	if err != nil {
		return storage.MemberPage{}, err
	}
	rows, err := s.q().QueryContext(ctx, sq.query, sq.args...)
	if err != nil {
		return storage.MemberPage{}, wrapErr(err, "search members")
	}
	list, err := collect(rows, scanListing)
	if err != nil {
		return storage.MemberPage{}, wrapErr(err, "search members")
	}
	more := len(list) > sq.limit
	if more {
		list = list[:sq.limit]
	}
	page := storage.MemberPage{Members: list}
	if sq.backward {
		slices.Reverse(page.Members)
		page.HasPrev, page.HasNext = more, true
	} else {
		page.HasPrev, page.HasNext = sq.cursor, more
	}
	return page, nil
}

// memberSearch is SearchMembers' statement and how to read its rows.
type memberSearch struct {
	query    string
	args     []any
	limit    int
	backward bool // rows come in reverse order (a previous page)
	cursor   bool // the page starts at a cursor
}

// narrowLimit is how many accounts a prefix may match in each of its two
// ranges (email, name) for SearchMembers to read the matches first and
// sort them, rather than walk the sort order and test each account.
const narrowLimit = 2000

// narrowPrefix reports whether prefix matches at most narrowLimit emails
// and as many names in orgID, counting no further than that in either
// index range. SQLite plans the two-range OR by walking the sort order,
// which for a rare prefix reads the whole organization; PostgreSQL weighs
// both plans by its statistics and needs no hint.
func (s *Store) narrowPrefix(ctx context.Context, orgID, prefix string) (bool, error) {
	for _, col := range []string{"email", "name_key"} {
		var n int
		err := s.q().QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM accounts
			WHERE org_id = $1 AND `+col+` >= $2 AND `+col+` < $3 LIMIT $4)`,
			orgID, prefix, prefix+prefixEnd, narrowLimit+1).Scan(&n)
		if err != nil {
			return false, wrapErr(err, "search members: count prefix")
		}
		if n > narrowLimit {
			return false, nil
		}
	}
	return true, nil
}

// memberSQL builds q's statement. With narrow, the prefix's matches are
// read from their two index ranges first (see narrowPrefix).
func (s *Store) memberSQL(q storage.MemberQuery, narrow bool) (memberSearch, error) {
	if q.After != nil && q.Before != nil {
		return memberSearch{}, fmt.Errorf("sqlstore: search members: both after and before: %w", storage.ErrBadQuery)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, maxMemberPage)

	// The sort column, bytewise on PostgreSQL whatever the database
	// collation, so that keyset comparisons and prefix ranges agree with
	// the indexes of migration 0021.
	textCol := func(c string) string {
		if s.dialect == DialectPostgres {
			return c + ` COLLATE "C"`
		}
		return c
	}
	col, numeric, tie := textCol("a.email"), false, false // email is unique: no tie-break
	switch q.Sort {
	case "", storage.SortEmail:
	case storage.SortName:
		col, tie = textCol("a.name_key"), true
	case storage.SortLastSignIn:
		col, numeric, tie = "a.last_sign_in_at", true, true
	case storage.SortCreated:
		col, numeric, tie = "a.created_at", true, true
	default:
		return memberSearch{}, fmt.Errorf("sqlstore: search members: sort %q: %w", q.Sort, storage.ErrBadQuery)
	}

	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	where = append(where, "a.org_id = "+arg(q.OrgID))
	// The prefix is applied at the end (it shapes the statement), once
	// every other condition is in where.
	var lo, hi string
	if q.Prefix != "" {
		lo, hi = arg(q.Prefix), arg(q.Prefix+prefixEnd)
	}
	if q.Role != "" {
		where = append(where, "a.role = "+arg(string(q.Role)))
	}
	switch q.Status {
	case "":
	case storage.StatusFilterSuspended:
		where = append(where, "a.status = "+arg(string(storage.StatusSuspended)))
	case storage.StatusFilterInvited:
		where = append(where, "a.status = "+arg(string(storage.StatusActive))+" AND a.password_hash = '' AND a.last_sign_in_at = 0")
	case storage.StatusFilterActive:
		where = append(where, "a.status = "+arg(string(storage.StatusActive))+" AND (a.password_hash <> '' OR a.last_sign_in_at > 0)")
	default:
		return memberSearch{}, fmt.Errorf("sqlstore: search members: status %q: %w", q.Status, storage.ErrBadQuery)
	}
	switch q.PolicyID {
	case "":
	case storage.PolicyFilterDefault:
		// Covered by the default policy, or by none (no policies yet).
		where = append(where, "COALESCE("+s.resolvedPolicy("a")+", '') IN ('', "+
			"(SELECT d.id FROM policies d WHERE d.org_id = a.org_id AND d.is_default = 1))")
	default:
		where = append(where, s.resolvedPolicy("a")+" = "+arg(q.PolicyID))
	}
	switch q.Method {
	case "":
	case storage.MethodSSO:
		where = append(where, "EXISTS (SELECT 1 FROM sso_links l WHERE l.account_id = a.id)")
	case storage.MethodPassword:
		where = append(where, "a.password_hash <> ''")
	case storage.MethodPasskey:
		where = append(where, "EXISTS (SELECT 1 FROM passkeys p WHERE p.account_id = a.id)")
	default:
		return memberSearch{}, fmt.Errorf("sqlstore: search members: method %q: %w", q.Method, storage.ErrBadQuery)
	}
	if q.NoMFA {
		where = append(where, `NOT EXISTS (SELECT 1 FROM mfa_totp t WHERE t.account_id = a.id AND t.confirmed_at > 0)
			AND NOT EXISTS (SELECT 1 FROM passkeys p WHERE p.account_id = a.id AND p.emergency = 0)`)
	}
	if q.NoEmergencyPasskey {
		where = append(where, "NOT EXISTS (SELECT 1 FROM passkeys p WHERE p.account_id = a.id AND p.emergency = 1 AND p.clone_suspected_at = 0)")
	}

	// Walking backwards (the previous page) reads the reverse order from
	// the cursor and flips the rows afterwards.
	cur, backward := q.After, false
	if q.Before != nil {
		cur, backward = q.Before, true
	}
	desc := q.Desc != backward
	cmp, dir := ">", "ASC"
	if desc {
		cmp, dir = "<", "DESC"
	}
	if cur != nil {
		var key any = cur.Key
		if numeric {
			n, err := strconv.ParseInt(cur.Key, 10, 64)
			if err != nil {
				return memberSearch{}, fmt.Errorf("sqlstore: search members: cursor key: %w", storage.ErrBadQuery)
			}
			key = n
		}
		k := arg(key)
		if tie {
			// (col, id) past the cursor, written so the index ranges on col.
			where = append(where, fmt.Sprintf("%s %s= %s AND (%s %s %s OR a.id %s %s)", col, cmp, k, col, cmp, k, cmp, arg(cur.ID)))
		} else {
			where = append(where, fmt.Sprintf("%s %s %s", col, cmp, k))
		}
	}
	order := col + " " + dir
	if tie {
		order += ", a.id " + dir
	}
	lim := arg(limit + 1)
	emailRange := fmt.Sprintf("%[1]s >= %[2]s AND %[1]s < %[3]s", textCol("a.email"), lo, hi)
	nameRange := fmt.Sprintf("%[1]s >= %[2]s AND %[1]s < %[3]s", textCol("a.name_key"), lo, hi)
	from, cond := "accounts a", strings.Join(where, " AND ")
	switch {
	case q.Prefix != "" && (q.Sort == "" || q.Sort == storage.SortEmail || q.Sort == storage.SortName):
		// Sorted by email or name, a prefix is two ranges, each read in the
		// sort order (one of them straight from its index) and cut at the
		// page size; the page is the first rows of the two together.
		// CROSS JOIN keeps SQLite's join order: those few rows first, then
		// each account by its primary key.
		// On SQLite each range is read through its own index by name:
		// without statistics it would rather walk the sort order from the
		// cursor to spare a sort, which for a rare prefix reads the rest
		// of the organization.
		ei, ni := "", ""
		if s.dialect != DialectPostgres {
			ei, ni = " INDEXED BY accounts_org_email", " INDEXED BY accounts_org_name_key"
		}
		from = fmt.Sprintf(`(SELECT id FROM (SELECT a.id FROM accounts a%[6]s WHERE %[1]s AND %[2]s ORDER BY %[4]s LIMIT %[5]s) e
			UNION SELECT id FROM (SELECT a.id FROM accounts a%[7]s WHERE %[1]s AND %[3]s ORDER BY %[4]s LIMIT %[5]s) n) m
			CROSS JOIN accounts a`, cond, emailRange, nameRange, order, lim, ei, ni)
		cond = "a.id = m.id"
	case q.Prefix != "" && narrow:
		// Few matches: read them from the two index ranges, then sort.
		from = fmt.Sprintf(`(SELECT a.id FROM accounts a WHERE a.org_id = $1 AND %[1]s
			UNION SELECT a.id FROM accounts a WHERE a.org_id = $1 AND %[2]s) m
			CROSS JOIN accounts a`, emailRange, nameRange)
		cond += " AND a.id = m.id"
	case q.Prefix != "":
		// Many matches: walk the sort order and keep those that match.
		cond += " AND ((" + emailRange + ") OR (" + nameRange + "))"
	}
	query := `SELECT ` + prefixCols("a.", accountCols) + s.listingCols() + ` FROM ` + from + `
		WHERE ` + cond + ` ORDER BY ` + order + ` LIMIT ` + lim
	return memberSearch{query: query, args: args, limit: limit, backward: backward, cursor: cur != nil}, nil
}

func scanListing(r scanner) (storage.MemberListing, error) {
	var l storage.MemberListing
	var lastSignIn int64
	var sso, pk, mfa, emergency bool
	acct, err := scanAccount(rowPlus{r, []any{&lastSignIn, &sso, &pk, &mfa, &emergency, &l.PolicyID}})
	if err != nil {
		return l, err
	}
	l.Account, l.LastSignInAt = acct, fromUS(lastSignIn)
	l.SSOLinked, l.HasPasskey, l.HasMFA, l.EmergencyPasskey = sso, pk, mfa, emergency
	return l, nil
}

// rowPlus scans a row whose leading columns are another scanner's and
// whose trailing ones go to extra.
type rowPlus struct {
	r     scanner
	extra []any
}

func (p rowPlus) Scan(dest ...any) error { return p.r.Scan(append(dest, p.extra...)...) }

// prefixCols qualifies each column of a comma-separated list with p.
func prefixCols(p, cols string) string {
	parts := strings.Split(cols, ",")
	for i, c := range parts {
		parts[i] = p + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}
