// Package audit writes and reads the append-only, hash-chained audit log.
// Services call Record inside the same transaction as the change it
// describes; storage assigns the chain position and hash.
package audit

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/reqctx"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// Outcomes of an event.
const (
	OutcomeSuccess = "success"
	OutcomeFailure = "failure"
)

// ActorAnonymous is the actor type of an event whose actor nobody knows
// (a sign-in attempt before the account is identified).
const ActorAnonymous = "anonymous"

// Record fills e's actor and request fields (IP, user agent, request ID)
// from ctx where e leaves them empty, and appends it through tx. e.Time must
// be set by the caller from its injected clock.
//
// The actor is filled as a unit: ID and email are taken from ctx only when
// e names no actor type or the same type as ctx (and, if e names an actor
// ID, the same ID), so an event the caller attributes to "system" is never
// stamped with the ID of the account whose request happened to trigger it.
// An event with no known actor is recorded as "anonymous"; an empty Outcome
// means "success"; an empty ID gets a random UUID.
func Record(ctx context.Context, tx storage.Audit, e storage.AuditEvent) error {
	if e.Action == "" {
		return errors.New("audit: event has no action")
	}
	if e.Time.IsZero() {
		return fmt.Errorf("audit: event %q has no time", e.Action)
	}
	info := reqctx.From(ctx)
	if e.ActorType == "" {
		e.ActorType = info.ActorType
	}
	if e.ActorType != "" && e.ActorType == info.ActorType && (e.ActorID == "" || e.ActorID == info.ActorID) {
		if e.ActorID == "" {
			e.ActorID = info.ActorID
		}
		if e.ActorEmail == "" {
			e.ActorEmail = info.ActorEmail
		}
	}
	if e.ActorType == "" {
		e.ActorType = ActorAnonymous
	}
	if e.Outcome == "" {
		e.Outcome = OutcomeSuccess
	}
	if e.IP == "" {
		e.IP = info.IP
	}
	if e.UserAgent == "" {
		e.UserAgent = info.UserAgent
	}
	if e.RequestID == "" {
		e.RequestID = info.RequestID
	}
	if e.ID == "" {
		e.ID = uuid.NewString()
	}
	if err := tx.AppendAudit(ctx, &e); err != nil {
		return fmt.Errorf("audit: append %q: %w", e.Action, err)
	}
	return nil
}
