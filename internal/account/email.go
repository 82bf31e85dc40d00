package account

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse-id/gatehouse/internal/emailaddr"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// NormalizeEmail returns the stored form of an email address (see package
// emailaddr for the rules: NFKC, PRECIS local part, A-label domain, one
// script, no invisible characters), or an *InvalidInputError for the
// "email" field whose Message a person can act on.
func NormalizeEmail(s string) (string, error) {
	out, err := emailaddr.Normalize(s)
	if err != nil {
		return "", emailInputError(err)
	}
	return out, nil
}

// emailMessages words each emailaddr.Code for the person who typed the
// address.
var emailMessages = map[emailaddr.Code]string{
	emailaddr.CodeNotText:      "The email address contains characters that are not valid text.",
	emailaddr.CodeEmpty:        "Enter your email address.",
	emailaddr.CodeTooLong:      "This email address is too long.",
	emailaddr.CodeBadCharacter: "Enter one email address, like name@example.com, without spaces, symbols or invisible characters.",
	emailaddr.CodeShape:        "Enter an email address like name@example.com.",
	emailaddr.CodeBadDomain:    "The part after @ must be a domain, like example.com.",
	emailaddr.CodeMixedScript:  "This email address mixes letters of different alphabets (such as Latin and Cyrillic), which makes it look like another address. Type it in one alphabet.",
}

// emailInputError maps an emailaddr refusal to the account-facing error.
func emailInputError(err error) error {
	msg := "Enter an email address like name@example.com."
	var e *emailaddr.Error
	if errors.As(err, &e) {
		if m, ok := emailMessages[e.Code]; ok {
			msg = m
		}
	}
	return &InvalidInputError{Field: "email", Message: msg}
}

// errConfusableEmail is the answer when an address looks like another
// account's in the same organization. It names neither that account nor
// its address: whoever is told could be anyone allowed to add a member.
var errConfusableEmail = &InvalidInputError{
	Field:   "email",
	Message: "This email address looks the same as the address of another account in this organization (for example, a letter from another alphabet or a 0 for an o). Check the address; if it really is a different person, ask them for another address.",
}

// checkNotConfusable refuses email when an account of orgID other than
// except has an address with the same skeleton (see emailaddr.Skeleton).
// An identical address is not this check's business: the caller reports
// it as taken.
func checkNotConfusable(ctx context.Context, tx storage.Accounts, orgID, email, except string) error {
	others, err := tx.ListAccountsByEmailSkeleton(ctx, orgID, emailaddr.Skeleton(email))
	if err != nil {
		return fmt.Errorf("account: look up lookalike addresses: %w", err)
	}
	for _, o := range others {
		if o.ID != except && o.Email != email {
			return errConfusableEmail
		}
	}
	return nil
}
