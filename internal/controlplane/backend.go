package controlplane

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/shipsafe/shipsafe/api/v1alpha1"
	apimanifest "github.com/shipsafe/shipsafe/api/v1alpha1/manifest"
	"github.com/shipsafe/shipsafe/internal/rollout"
	"github.com/shipsafe/shipsafe/internal/server"
	"github.com/shipsafe/shipsafe/internal/store"
)

// The control plane serves the API (server.Backend).
var _ server.Backend = (*ControlPlane)(nil)

// Apply validates every document first and stores nothing unless all are valid; then
// stores templates before rollouts (so a rollout's analysis finds its templates) and wakes
// the rollouts' workers.
func (cp *ControlPlane) Apply(ctx context.Context, actor string, manifest []byte) (server.ApplyResult, error) {
	objs, err := apimanifest.Parse(manifest)
	if err != nil {
		var list apimanifest.ErrorList
		if errors.As(err, &list) {
			msgs := make([]string, 0, len(list))
			for _, e := range list {
				msgs = append(msgs, e.Error())
			}
			return server.ApplyResult{}, &server.ValidationError{Errors: msgs}
		}
		return server.ApplyResult{}, &server.ValidationError{Errors: []string{err.Error()}}
	}
	var res server.ApplyResult
	slices.SortStableFunc(objs, func(a, b apimanifest.Object) int { return boolInt(a.Rollout != nil) - boolInt(b.Rollout != nil) })
	puts := make([]store.RolloutPut, 0, len(objs))
	for _, o := range objs {
		put := store.RolloutPut{ExpectedVersion: store.AnyVersion}
		switch {
		case o.AnalysisTemplate != nil:
			put.Name, put.Spec = templatePrefix+o.Name(), o.AnalysisTemplate
		case o.ClusterAnalysisTemplate != nil:
			put.Name, put.Spec = clusterTemplatePrefix+o.Name(), o.ClusterAnalysisTemplate
		case o.Rollout != nil:
			put.Name, put.Spec = o.Name(), o.Rollout
		default:
			return res, &server.BadRequestError{Msg: fmt.Sprintf("%s %q: only Rollout, Deployment, AnalysisTemplate and ClusterAnalysisTemplate can be applied", o.Kind, o.Name())}
		}
		puts = append(puts, put)
	}
	// One transaction: every object is stored or none.
	if _, err := cp.opts.Store.PutRollouts(ctx, puts...); err != nil {
		return res, fmt.Errorf("store applied objects: %w", err)
	}
	for _, o := range objs {
		res.Applied = append(res.Applied, o.Kind+"/"+o.Name())
		var digest string
		if o.Rollout != nil {
			digest = modelDigest(o.Rollout.Spec.Template)
		}
		if _, err := cp.opts.Store.Audit(ctx, store.AuditEntry{Actor: actor, Action: "apply", Target: strings.ToLower(o.Kind) + "/" + o.Name(), ModelDigest: digest}); err != nil {
			cp.log.Warn("audit apply", "err", err)
		}
	}
	for _, o := range objs {
		if o.Rollout != nil {
			cp.Wake(context.WithoutCancel(ctx), o.Name())
		}
	}
	return res, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// RolloutView is what `get` returns: the manifest, the Argo-compatible status and
// shipsafe's own view of revisions, traffic and analysis.
type RolloutView struct {
	Name            string                 `json:"name"`
	Generation      int64                  `json:"generation"`
	Strategy        string                 `json:"strategy"`
	Steps           int                    `json:"steps,omitempty"`
	Status          v1alpha1.RolloutStatus `json:"status"`
	Revisions       []revisionView         `json:"revisions,omitempty"`
	Analysis        []runRef               `json:"analysis,omitempty"`
	PendingCommands []rollout.Command      `json:"pendingCommands,omitempty"`
	RollbackCause   string                 `json:"rollbackCause,omitempty"`
	Traffic         rollout.Traffic        `json:"traffic"`
	Spec            json.RawMessage        `json:"spec"`
}

func (cp *ControlPlane) view(row store.Rollout) (RolloutView, error) {
	l, err := decodeRow(row)
	if err != nil {
		return RolloutView{}, err
	}
	v := RolloutView{Name: row.Name, Generation: row.Generation, Strategy: strategyOf(l), Status: l.rec.Status,
		Revisions: l.rec.Revisions, Analysis: l.rec.Runs, PendingCommands: l.rec.Commands, RollbackCause: l.rec.RollbackCause, Traffic: l.rec.Traffic, Spec: row.Spec}
	if c := l.rollout.Spec.Strategy.Canary; c != nil {
		v.Steps = len(c.Steps)
	}
	return v, nil
}

// List returns every rollout's view.
func (cp *ControlPlane) List(ctx context.Context) ([]json.RawMessage, error) {
	rows, err := cp.opts.Store.ListRollouts(ctx)
	if err != nil {
		return nil, err
	}
	out := []json.RawMessage{}
	for _, r := range rows {
		if isTemplateKey(r.Name) {
			continue
		}
		v, err := cp.view(r)
		if err != nil {
			return nil, err
		}
		out = append(out, mustJSON(v))
	}
	return out, nil
}

// Get returns one rollout's view.
func (cp *ControlPlane) Get(ctx context.Context, name string) (json.RawMessage, error) {
	row, err := cp.getRow(ctx, name)
	if err != nil {
		return nil, err
	}
	v, err := cp.view(row)
	if err != nil {
		return nil, err
	}
	return mustJSON(v), nil
}

func (cp *ControlPlane) getRow(ctx context.Context, name string) (store.Rollout, error) {
	if isTemplateKey(name) || strings.Contains(name, "/") {
		return store.Rollout{}, &server.NotFoundError{What: fmt.Sprintf("rollout %q", name)}
	}
	row, err := cp.opts.Store.GetRollout(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return row, &server.NotFoundError{What: fmt.Sprintf("rollout %q", name)}
	}
	return row, err
}

// Delete removes a rollout; its worker then removes its routes and replicas.
func (cp *ControlPlane) Delete(ctx context.Context, actor, name string) error {
	if _, err := cp.getRow(ctx, name); err != nil {
		return err
	}
	if err := cp.opts.Store.DeleteRollout(ctx, name, store.AnyVersion); err != nil {
		return err
	}
	_, _ = cp.opts.Store.Audit(ctx, store.AuditEntry{Actor: actor, Action: "delete", Target: "rollout/" + name})
	cp.Wake(context.WithoutCancel(ctx), name)
	return nil
}

// Command queues a user command in the rollout's stored status (so it survives a crash);
// the worker hands it to the engine, which applies it exactly once.
func (cp *ControlPlane) Command(ctx context.Context, actor, name string, c server.Command) error {
	kind := rollout.CommandKind(c.Kind)
	switch kind {
	case rollout.CommandPromote, rollout.CommandPromoteFull, rollout.CommandAbort, rollout.CommandRetry,
		rollout.CommandUndo, rollout.CommandPause, rollout.CommandResume:
	default:
		return &server.BadRequestError{Msg: fmt.Sprintf("command %q: must be one of promote, promote-full, abort, retry, undo, pause, resume", c.Kind)}
	}
	var id [8]byte
	_, _ = rand.Read(id[:])
	cmd := rollout.Command{ID: hex.EncodeToString(id[:]), Kind: kind, Revision: c.Revision}
	for attempt := 0; ; attempt++ {
		row, err := cp.getRow(ctx, name)
		if err != nil {
			return err
		}
		l, err := decodeRow(row)
		if err != nil {
			return err
		}
		l.rec.Commands = append(l.rec.Commands, cmd)
		_, err = cp.opts.Store.UpdateStatus(ctx, name, l.rec, row.ResourceVersion)
		if errors.Is(err, store.ErrConflict) && attempt < 20 {
			continue
		}
		if err != nil {
			return err
		}
		model := modelDigest(l.rollout.Spec.Template)
		if _, err := cp.opts.Store.Audit(ctx, store.AuditEntry{Actor: actor, Action: c.Kind, Target: "rollout/" + name, Revision: c.Revision, ModelDigest: model}); err != nil {
			cp.log.Warn("audit command", "err", err)
		}
		cp.Wake(context.WithoutCancel(ctx), name)
		return nil
	}
}

// History returns the rollout's deployment history, newest first.
func (cp *ControlPlane) History(ctx context.Context, name string) (json.RawMessage, error) {
	if _, err := cp.getRow(ctx, name); err != nil {
		return nil, err
	}
	hs, err := cp.opts.Store.ListHistory(ctx, name, 100)
	if err != nil {
		return nil, err
	}
	if hs == nil {
		hs = []store.HistoryEntry{}
	}
	return mustJSON(hs), nil
}

// AnalysisRuns returns the rollout's analysis runs with every measurement.
func (cp *ControlPlane) AnalysisRuns(ctx context.Context, name string) (json.RawMessage, error) {
	runs, err := cp.opts.Store.ListAnalysisRuns(ctx, name)
	if err != nil {
		return nil, err
	}
	type runView struct {
		store.AnalysisRun
		Measurements []store.Measurement `json:"measurements"`
	}
	out := []runView{}
	for _, r := range runs {
		ms, err := cp.opts.Store.ListMeasurements(ctx, r.Name)
		if err != nil {
			return nil, err
		}
		out = append(out, runView{AnalysisRun: r, Measurements: ms})
	}
	return mustJSON(out), nil
}

// Events returns stored events after an id.
func (cp *ControlPlane) Events(ctx context.Context, rolloutName string, after int64, limit int) ([]server.Event, error) {
	evs, err := cp.opts.Store.ListEvents(ctx, store.EventQuery{Rollout: rolloutName, SinceID: after, Limit: limit})
	if err != nil {
		return nil, err
	}
	out := make([]server.Event, 0, len(evs))
	for _, e := range evs {
		out = append(out, server.Event{ID: e.ID, Rollout: e.Rollout, Time: e.Time, Type: e.Type, Reason: e.Reason, Message: e.Message})
	}
	return out, nil
}
