package apiview

import (
	"time"

	"github.com/gatehouse-id/gatehouse/internal/domain"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// Domain is the JSON of an email domain the organization claims. The TXT
// record is included while it is pending and after: it is what the admin
// publishes, and it must stay published for a later re-check to pass.
type Domain struct {
	ID            string     `json:"id"`
	Name          string     `json:"name"`
	Verified      bool       `json:"verified"`
	VerifiedAt    *time.Time `json:"verified_at"` // null until verified
	CreatedAt     time.Time  `json:"created_at"`
	LastCheckedAt *time.Time `json:"last_checked_at"` // null until the first check
	LastError     string     `json:"last_error"`      // why the last check failed; "" if it passed
	TXTRecord     TXTRecord  `json:"txt_record"`
}

// TXTRecord is the DNS record that proves ownership of a domain.
type TXTRecord struct {
	Name  string `json:"name"`
	Type  string `json:"type"`
	Value string `json:"value"`
}

// DomainFrom converts a storage record; svc supplies the record to publish.
func DomainFrom(svc *domain.Service, d storage.Domain) Domain {
	return Domain{
		ID: d.ID, Name: d.Name, Verified: !d.VerifiedAt.IsZero(), VerifiedAt: optTime(d.VerifiedAt),
		CreatedAt: d.CreatedAt.UTC(), LastCheckedAt: optTime(d.LastCheckedAt), LastError: d.LastError,
		TXTRecord: TXTRecord{Name: svc.RecordName(d), Type: "TXT", Value: svc.TXTRecord(d)},
	}
}
