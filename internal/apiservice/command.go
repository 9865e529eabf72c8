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

// Command queues a user command in the rollout's stored status (so it survives a crash),
// with its audit entry in the same write; the worker hands it to the engine, which applies
// it exactly once.
func (s *Service) Command(ctx context.Context, actor, name string, c Command) error {
	kind := rollout.CommandKind(c.Kind)
	switch kind {
	case rollout.CommandPromote, rollout.CommandPromoteFull, rollout.CommandAbort, rollout.CommandRetry,
		rollout.CommandUndo, rollout.CommandPause, rollout.CommandResume:
	default:
		return &InvalidError{Msg: fmt.Sprintf("command %q: must be one of promote, promote-full, abort, retry, undo, pause, resume", c.Kind)}
	}
	var id [8]byte
	_, _ = rand.Read(id[:])
	cmd := rollout.Command{ID: hex.EncodeToString(id[:]), Kind: kind, Revision: c.Revision}
	for attempt := 1; ; attempt++ {
		row, err := s.getRow(ctx, name)
		if err != nil {
			return err
		}
		ro, rec, err := progress.Decode(row)
		if err != nil {
			return err
		}
		rec.Commands = append(rec.Commands, cmd)
		audit := store.AuditEntry{Actor: actor, Action: c.Kind, Target: "rollout/" + name, Revision: c.Revision, ModelDigest: s.model(ro.Spec.Template).String()}
		_, err = s.st.UpdateStatus(ctx, store.StatusWrite{Name: name, Status: progress.Encode(rec, rec.ObservedGeneration()), ExpectedVersion: row.ResourceVersion, Audits: []store.AuditEntry{audit}})
		if errors.Is(err, store.ErrConflict) {
			if attempt < maxCommandAttempts {
				continue
			}
			return &ConflictError{Msg: fmt.Sprintf("command %s on rollout %q: the rollout changed %d times while queueing it; try again", c.Kind, name, attempt)}
		}
		if err != nil {
			return fmt.Errorf("queue command %s on rollout %q: %w", c.Kind, name, err)
		}
		s.wake(ctx, name)
		return nil
	}
}
