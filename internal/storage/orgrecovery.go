package storage

import (
	"context"
	"time"
)

// OrgRecoveryCode is one of an organization's recovery codes: owners
// generate a set of ten, each signs an owner in once at /recover without
// the IdP and without mail. Only the SHA-256 of the code is stored.
type OrgRecoveryCode struct {
	ID        string
	OrgID     string
	CodeHash  string // hex SHA-256 of the normalized code; unique per organization
	CreatedAt time.Time
	CreatedBy string    // the owner who generated the set
	UsedAt    time.Time // zero while unused
	UsedBy    string    // the account it signed in
}

// OrgRecoveryCodes stores organization recovery codes.
type OrgRecoveryCodes interface {
	// ReplaceOrgRecoveryCodes deletes orgID's codes, used or not, and
	// stores codes (all of orgID) as its new set.
	ReplaceOrgRecoveryCodes(ctx context.Context, orgID string, codes []OrgRecoveryCode) error
	// UseOrgRecoveryCode marks orgID's unused code with codeHash as used at
	// by accountID, in one statement, and returns it. ErrNotFound when there
	// is no such unused code: of two concurrent uses of one code exactly one
	// succeeds.
	UseOrgRecoveryCode(ctx context.Context, orgID, codeHash, accountID string, at time.Time) (OrgRecoveryCode, error)
	// ListOrgRecoveryCodes returns orgID's codes (hashes only), oldest first.
	ListOrgRecoveryCodes(ctx context.Context, orgID string) ([]OrgRecoveryCode, error)
}
