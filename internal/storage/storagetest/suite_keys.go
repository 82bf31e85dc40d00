package storagetest

import (
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// keyTests: a key that is not text (it arrives from URL paths, e.g.
// "/admin/domains/%ff") names no record, on every backend, rather than
// failing as a database error on one of them.
var keyTests = []namedTest{
	{"NotTextIsNotFound", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		mustOrg(t, s, "o")
		for _, key := range []string{"\xff", "a\x00b"} {
			_, err := s.GetOrganization(ctx, key)
			wantErr(t, "GetOrganization", err, storage.ErrNotFound)
			_, err = s.GetAccount(ctx, key)
			wantErr(t, "GetAccount", err, storage.ErrNotFound)
			_, err = s.GetDomain(ctx, "o", key)
			wantErr(t, "GetDomain", err, storage.ErrNotFound)
			_, err = s.GetIdPConnectionBySlug(ctx, key)
			wantErr(t, "GetIdPConnectionBySlug", err, storage.ErrNotFound)
			_, err = s.GetPolicy(ctx, "o", key)
			wantErr(t, "GetPolicy", err, storage.ErrNotFound)
			_, err = s.GetSessionByTokenHash(ctx, key)
			wantErr(t, "GetSessionByTokenHash", err, storage.ErrNotFound)
		}
	}},
}
