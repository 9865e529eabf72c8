package controlplane

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/shipsafe/shipsafe/internal/platform"
	"github.com/shipsafe/shipsafe/internal/rollout"
	"github.com/shipsafe/shipsafe/internal/rollout/adapter"
	"github.com/shipsafe/shipsafe/internal/store"
)

// reconcile runs one pass for one rollout: observe, decide, act, persist. Every action is
// idempotent (the plan is the whole desired state), so a pass interrupted anywhere is
// simply repeated. It returns when to run again.
func (cp *ControlPlane) reconcile(ctx context.Context, name string) (time.Duration, bool, error) {
	row, err := cp.opts.Store.GetRollout(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return 0, true, cp.teardown(ctx, name)
	}
	if err != nil {
		return 0, false, err
	}
	l, err := decodeRow(row)
	if err != nil {
		return 0, false, err
	}
	now := cp.opts.Now()
	spec, err := adapter.Spec(l.rollout)
	if err != nil {
		return 0, false, err
	}
	if _, ok := l.rec.Templates[spec.TemplateHash]; !ok {
		l.rec.Templates[spec.TemplateHash] = l.rollout.Spec.Template
	}

	// Observe.
	states, err := cp.opts.Platform.Observe(ctx, name)
	if err != nil {
		return 0, false, fmt.Errorf("observe %s: %w", name, err)
	}
	obs := rollout.Observation{HasTrafficRouter: true, Commands: l.rec.Commands}
	for _, s := range states {
		obs.Revisions = append(obs.Revisions, rollout.RevisionState{
			Hash: s.Name, Replicas: int32(s.Replicas), Ready: int32(s.Ready), Available: int32(s.Available), Failed: int32(s.Failed),
		})
	}
	var runAt time.Time
	obs.Analysis, runAt = cp.driveAnalysis(ctx, l, now)
	obs.Rollback = cp.evaluateTriggers(ctx, l, now)

	// Decide.
	prev := l.rec.Engine
	res := rollout.Reconcile(spec, prev, obs, now)

	// Act: traffic first (so nothing is sent to what is about to be scaled down), then
	// replicas, then analysis.
	if err := cp.setServices(ctx, name, gatewayServices(l, res.Plan.Traffic, states)); err != nil {
		return 0, false, err
	}
	var revs []platform.Revision
	for _, d := range res.Plan.Revisions {
		tpl, ok := l.rec.Templates[d.Hash]
		if !ok {
			if d.Replicas > 0 {
				cp.log.Warn("no template for revision; cannot run it", "rollout", name, "revision", d.Hash)
			}
			continue
		}
		revs = append(revs, platform.Revision{Name: d.Hash, Template: tpl, Replicas: int(d.Replicas), MinReadySeconds: l.rollout.Spec.MinReadySeconds})
	}
	if err := cp.opts.Platform.Apply(ctx, name, revs); err != nil {
		return 0, false, fmt.Errorf("apply replicas of %s: %w", name, err)
	}
	// Replicas chosen for scale-down leave the platform's endpoints at once, before they
	// are signalled (the platform's drain delay): route around them now, not a tick later.
	if after, err := cp.opts.Platform.Observe(ctx, name); err == nil && endpointsShrank(states, after) {
		if err := cp.setServices(ctx, name, gatewayServices(l, res.Plan.Traffic, after)); err != nil {
			return 0, false, err
		}
		states = after
	}
	events := res.Events
	cp.stopRuns(ctx, l, res.Plan.StopAnalysis)
	events = append(events, cp.startRuns(ctx, l, res.Plan.StartAnalysis, now)...)

	// Persist.
	l.rec.Engine = res.Status
	l.rec.Status = adapter.ArgoStatus(res.Status, row.Generation)
	l.rec.Traffic = res.Plan.Traffic
	l.rec.Commands = slices.DeleteFunc(l.rec.Commands, func(c rollout.Command) bool { return slices.Contains(res.Acknowledged, c.ID) })
	l.rec.Revisions = revisionViews(l, res.Plan, states)
	l.rec.Runs = pruneRuns(l.rec.Runs, res.Status)
	events = append(events, cp.trackHistory(ctx, l, prev, res.Status, now)...)
	// Status and this pass's events are stored in one transaction: a pass whose write is
	// lost (a crash, a concurrent command) leaves no events behind, and the next pass,
	// deciding again from the stored status, records them once.
	evs := make([]store.Event, 0, len(events))
	for _, e := range events {
		evs = append(evs, store.Event{Rollout: name, Time: now, Type: string(e.Type), Reason: e.Reason, Message: e.Message, Revision: res.Status.CurrentPodHash})
	}
	if res.Plan.SetTemplate != "" {
		if tpl, ok := l.rec.Templates[res.Plan.SetTemplate]; ok {
			l.rollout.Spec.Template = tpl
			if _, err := cp.opts.Store.PutRollout(ctx, name, l.rollout, l.rec, row.ResourceVersion); err != nil {
				return 0, false, fmt.Errorf("undo: rewrite spec.template: %w", err)
			}
			if _, err := cp.opts.Store.AppendEvents(ctx, evs); err != nil {
				cp.log.Warn("store events", "rollout", name, "err", err)
			}
		}
	} else if _, err := cp.opts.Store.UpdateStatus(ctx, name, l.rec, row.ResourceVersion, evs...); err != nil {
		// A concurrent apply or command: the next pass starts from what is stored.
		return cp.opts.Tick / 5, false, fmt.Errorf("persist status of %s: %w", name, err)
	}
	for _, e := range events {
		cp.log.Info("event", "rollout", name, "type", e.Type, "reason", e.Reason, "message", e.Message)
	}
	cp.flushAudits(ctx, l)
	next := res.Plan.RequeueAfter
	if !runAt.IsZero() {
		if d := runAt.Sub(now); next <= 0 || d < next {
			next = max(d, 10*time.Millisecond)
		}
	}
	return next, false, nil
}

// teardown removes a deleted rollout's routes and replicas.
func (cp *ControlPlane) teardown(ctx context.Context, name string) error {
	if err := cp.setServices(ctx, name, nil); err != nil {
		return err
	}
	return cp.opts.Platform.Apply(ctx, name, nil)
}

// pruneRuns forgets finished runs of revisions that are neither current nor stable.
func pruneRuns(runs []runRef, st rollout.Status) []runRef {
	return slices.DeleteFunc(runs, func(r runRef) bool {
		return r.Done && r.Revision != st.CurrentPodHash && r.Revision != st.StableRS
	})
}

func revisionViews(l *loaded, plan rollout.Plan, states []platform.RevisionState) []revisionView {
	weights := map[string]int32{}
	for _, w := range plan.Traffic.Weights {
		weights[w.Hash] = w.Weight
	}
	byName := map[string]platform.RevisionState{}
	for _, s := range states {
		byName[s.Name] = s
	}
	var out []revisionView
	for _, d := range plan.Revisions {
		s := byName[d.Hash]
		if d.Replicas == 0 && s.Replicas == 0 {
			continue
		}
		out = append(out, revisionView{
			Hash: d.Hash, Role: string(d.Role), Desired: int(d.Replicas), Replicas: s.Replicas, Ready: s.Ready,
			Available: s.Available, Failed: s.Failed, Weight: weights[d.Hash], Model: modelOf(l.rec.Templates[d.Hash]),
		})
	}
	return out
}

func ptrTime(t time.Time) *metav1.Time {
	m := metav1.NewTime(t)
	return &m
}

// mustJSON marshals v for optional structured detail.
func mustJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

// endpointsShrank reports whether any endpoint listed before is gone after.
func endpointsShrank(before, after []platform.RevisionState) bool {
	now := map[string]bool{}
	for _, s := range after {
		for _, e := range s.Endpoints {
			now[e] = true
		}
	}
	for _, s := range before {
		for _, e := range s.Endpoints {
			if !now[e] {
				return true
			}
		}
	}
	return false
}
