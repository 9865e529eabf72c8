package apiservice

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/shipsafe/shipsafe/internal/progress"
	"github.com/shipsafe/shipsafe/internal/rollout"
	"github.com/shipsafe/shipsafe/internal/store"
)

// maxCommandAttempts bounds the retries of a command that keeps losing its write to the
// rollout's worker (each pass rewrites the status).
const maxCommandAttempts = 20

// CommandReceipt names a queued command and where its outcome will be: the first event of
// the rollout after EventsAfter whose message names ID, with reason CommandApplied or
// CommandRejected (the engine's reason follows the ID).
type CommandReceipt struct {
	ID          string `json:"id"`
	Kind        string `json:"kind"`
	EventsAfter int64  `json:"eventsAfter"`
}

// Command queues a user command in the rollout's stored status (so it survives a crash),
// with its audit entry in the same write; the worker hands it to the engine, which applies
// it exactly once.
func (s *Service) Command(ctx context.Context, actor, name string, c Command) error {
	_, err := s.QueueCommand(ctx, actor, name, c)
	return err
}

// QueueCommand is Command that also returns the command's receipt, so a caller can wait
// for the engine's verdict.
func (s *Service) QueueCommand(ctx context.Context, actor, name string, c Command) (CommandReceipt, error) {
	kind := rollout.CommandKind(c.Kind)
	switch kind {
	case rollout.CommandPromote, rollout.CommandPromoteFull, rollout.CommandAbort, rollout.CommandRetry,
		rollout.CommandUndo, rollout.CommandPause, rollout.CommandResume:
	default:
		return CommandReceipt{}, &InvalidError{Msg: fmt.Sprintf("command %q: must be one of promote, promote-full, abort, retry, undo, pause, resume", c.Kind)}
	}
	var id [8]byte
	_, _ = rand.Read(id[:])
	cmd := rollout.Command{ID: hex.EncodeToString(id[:]), Kind: kind, Revision: c.Revision}
	// Read before queueing: the outcome cannot be among the events up to here.
	after, err := s.lastEventID(ctx, name)
	if err != nil {
		return CommandReceipt{}, fmt.Errorf("command %s on rollout %q: %w", c.Kind, name, err)
	}
	receipt := CommandReceipt{ID: cmd.ID, Kind: c.Kind, EventsAfter: after}
	for attempt := 1; ; attempt++ {
		row, err := s.getRow(ctx, name)
		if err != nil {
			return CommandReceipt{}, err
		}
		ro, rec, err := progress.Decode(row)
		if err != nil {
			return CommandReceipt{}, err
		}
		rec.Commands = append(rec.Commands, cmd)
		audit := store.AuditEntry{Actor: actor, Action: c.Kind, Target: "rollout/" + name, Revision: c.Revision, ModelDigest: s.model(ro.Spec.Template).String()}
		_, err = s.st.UpdateStatus(ctx, store.StatusWrite{Name: name, Status: progress.Encode(rec, rec.ObservedGeneration()), ExpectedVersion: row.ResourceVersion, Audits: []store.AuditEntry{audit}})
		if errors.Is(err, store.ErrConflict) {
			if attempt < maxCommandAttempts {
				continue
			}
			return CommandReceipt{}, &ConflictError{Msg: fmt.Sprintf("command %s on rollout %q: the rollout changed %d times while queueing it; try again", c.Kind, name, attempt)}
		}
		if err != nil {
			return CommandReceipt{}, fmt.Errorf("queue command %s on rollout %q: %w", c.Kind, name, err)
		}
		s.wake(ctx, name)
		return receipt, nil
	}
}

// lastEventID is the newest event ID of the rollout (0 when none): the store's own answer
// when it has one, else the end of the rollout's events read page by page.
func (s *Service) lastEventID(ctx context.Context, name string) (int64, error) {
	if l, ok := s.st.(interface {
		LastEventID(context.Context) (int64, error)
	}); ok {
		return l.LastEventID(ctx)
	}
	var last int64
	for {
		evs, err := s.st.ListEvents(ctx, store.EventQuery{Rollout: name, SinceID: last, Limit: 1000})
		if err != nil {
			return 0, fmt.Errorf("read the event cursor: %w", err)
		}
		if len(evs) == 0 {
			return last, nil
		}
		last = evs[len(evs)-1].ID
	}
}
