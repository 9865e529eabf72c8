package controlplane

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/shipsafe/shipsafe/internal/platform"
	"github.com/shipsafe/shipsafe/internal/progress"
	"github.com/shipsafe/shipsafe/internal/rollout"
	"github.com/shipsafe/shipsafe/internal/rollout/adapter"
	"github.com/shipsafe/shipsafe/internal/store"
	"github.com/shipsafe/shipsafe/internal/traffic"
)

// reconcile runs one pass for one rollout: observe, decide, act, persist. Every action is
// idempotent (the plan is the whole desired state), so a pass interrupted anywhere is
// simply repeated. It returns when to run again.
//
// A pass that changes nothing — same status, no events, same traffic — writes nothing: an
// idle rollout costs no store writes and no route pushes (as Kubernetes' controllers
// return early on equal status). verify asks the router to check the data plane first.
func (cp *ControlPlane) reconcile(ctx context.Context, name string, verify bool) (passResult, error) {
	row, err := cp.opts.Store.GetRollout(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return passResult{gone: true}, cp.teardown(ctx, name)
	}
	if err != nil {
		return passResult{}, err
	}
	l, err := decodeRow(row)
	if err != nil {
		return passResult{}, err
	}
	now := cp.opts.Now()
	spec, err := adapter.Spec(l.rollout)
	if err != nil {
		return passResult{}, err
	}
	if _, ok := l.rec.Templates[spec.TemplateHash]; !ok {
		l.rec.Templates[spec.TemplateHash] = l.rollout.Spec.Template
	}

	// Observe.
	states, err := cp.opts.Platform.Observe(ctx, name)
	if err != nil {
		return passResult{}, fmt.Errorf("observe %s: %w", name, err)
	}
	obs := rollout.Observation{HasTrafficRouter: cp.opts.Router.HasTrafficRouting(), Commands: l.rec.Commands}
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
	ref := traffic.Ref{Rollout: name}
	desired := desiredTraffic(l, res.Plan.Traffic, states)
	if verify {
		if ok, err := cp.opts.Router.Verify(ctx, ref, desired); err != nil {
			cp.log.Warn("verify traffic", "rollout", name, "err", err)
		} else if !ok {
			cp.log.Info("the data plane does not serve the rollout's stored traffic; setting it", "rollout", name)
		}
	}
	if err := cp.opts.Router.SetTraffic(ctx, ref, desired); err != nil {
		return passResult{}, fmt.Errorf("set traffic of %s: %w", name, err)
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
	revs, unrunnable, err := cp.applyRunnable(ctx, name, revs)
	if err != nil {
		return passResult{}, fmt.Errorf("apply replicas of %s: %w", name, err)
	}
	if unrunnable != "" {
		// Shown, not retried: the rollout is Degraded with the platform's reason until a new
		// template arrives, and the reason is an event once, not a warning every pass.
		res.Status.Phase, res.Status.Message = rollout.PhaseDegraded, unrunnable
		if prev.Message != unrunnable {
			res.Events = append(res.Events, rollout.Event{Type: rollout.EventWarning, Reason: "Unrunnable", Message: unrunnable})
		}
	}
	// Replicas chosen for scale-down leave the platform's endpoints at once, before they
	// are signalled (the platform's drain delay): route around them now, not a tick later.
	if after, err := cp.opts.Platform.Observe(ctx, name); err == nil && endpointsShrank(states, after) {
		if err := cp.opts.Router.SetTraffic(ctx, ref, desiredTraffic(l, res.Plan.Traffic, after)); err != nil {
			return passResult{}, fmt.Errorf("set traffic of %s: %w", name, err)
		}
		states = after
	}
	events := res.Events
	cp.stopRuns(ctx, l, res.Plan.StopAnalysis)
	events = append(events, cp.startRuns(ctx, l, res.Plan.StartAnalysis, now)...)

	// Persist.
	l.rec.Engine = res.Status
	l.rec.Traffic = res.Plan.Traffic
	l.rec.Commands = slices.DeleteFunc(l.rec.Commands, func(c rollout.Command) bool { return slices.Contains(res.Acknowledged, c.ID) })
	l.rec.Revisions = cp.revisionViews(l, res.Plan, states)
	l.rec.Runs = pruneRuns(l.rec.Runs, res.Status)
	events = append(events, cp.trackHistory(ctx, l, prev, res.Status, now)...)
	// Events are named by the version the pass started from and their position, so a
	// store that cannot write them with the status (Capabilities) never stores one twice.
	evs := make([]store.Event, 0, len(events))
	for i, e := range events {
		evs = append(evs, store.Event{Name: fmt.Sprintf("%s.%d.%d", name, row.ResourceVersion, i), Rollout: name, Time: now,
			Type: string(e.Type), Reason: e.Reason, Message: e.Message, Revision: res.Status.CurrentPodHash})
	}
	pruneTemplates(&l.rec)
	status, err := json.Marshal(progress.Encode(l.rec, row.Generation))
	if err != nil {
		return passResult{}, fmt.Errorf("encode status of %s: %w", name, err)
	}
	quiet := false
	switch {
	case res.Plan.SetTemplate != "":
		if tpl, ok := l.rec.Templates[res.Plan.SetTemplate]; ok {
			l.rollout.Spec.Template = tpl
			put := store.RolloutPut{Name: name, Spec: l.rollout, Status: json.RawMessage(status), ExpectedVersion: row.ResourceVersion}
			if _, err := cp.opts.Store.PutRollouts(ctx, []store.RolloutPut{put}, l.audits...); err != nil {
				return passResult{}, fmt.Errorf("undo: rewrite spec.template: %w", err)
			}
			if _, err := cp.opts.Store.AppendEvents(ctx, evs); err != nil {
				cp.log.Warn("store events", "rollout", name, "err", err)
			}
		}
	case len(evs) == 0 && len(l.audits) == 0 && bytes.Equal(status, row.Status):
		// Nothing changed: no write. Rollback triggers measure on every pass, so a rollout
		// with them is never quiet.
		quiet = len(l.rollout.Spec.RollbackTriggers) == 0
	default:
		w := store.StatusWrite{Name: name, Status: json.RawMessage(status), ExpectedVersion: row.ResourceVersion, Events: evs, Audits: l.audits}
		if _, err := cp.opts.Store.UpdateStatus(ctx, w); err != nil {
			// A concurrent apply or command: the next pass starts from what is stored.
			return passResult{next: cp.opts.Tick / 5}, fmt.Errorf("persist status of %s: %w", name, err)
		}
	}
	for _, e := range events {
		cp.log.Info("event", "rollout", name, "type", e.Type, "reason", e.Reason, "message", e.Message)
	}
	next := res.Plan.RequeueAfter
	if !runAt.IsZero() {
		if d := runAt.Sub(now); next <= 0 || d < next {
			next = max(d, 10*time.Millisecond)
		}
	}
	return passResult{next: next, quiet: quiet}, nil
}

// passResult is what one reconcile pass tells its worker.
type passResult struct {
	// next is when the engine or an analysis run wants the next pass (0: no wish).
	next time.Duration
	// gone: the rollout was deleted and torn down.
	gone bool
	// quiet: the pass changed nothing and wrote nothing.
	quiet bool
}

// applyRunnable applies revs, leaving out (so scaling to zero) each revision the platform
// says it cannot run, and returns what it applied and the platform's reasons.
func (cp *ControlPlane) applyRunnable(ctx context.Context, name string, revs []platform.Revision) ([]platform.Revision, string, error) {
	var reasons []string
	for {
		err := cp.opts.Platform.Apply(ctx, name, revs)
		var ue *platform.UnrunnableError
		if !errors.As(err, &ue) {
			return revs, strings.Join(reasons, "; "), err
		}
		n := len(revs)
		revs = slices.DeleteFunc(revs, func(r platform.Revision) bool { return r.Name == ue.Revision })
		if len(revs) == n {
			return revs, "", err // not one of ours: a platform bug, not a template problem
		}
		reasons = append(reasons, "Unrunnable: "+ue.Error())
	}
}

// teardown removes a deleted rollout's routes and replicas. The namespace is gone with the
// object; rollouts are keyed by name alone in one control plane.
func (cp *ControlPlane) teardown(ctx context.Context, name string) error {
	if err := cp.opts.Router.Remove(ctx, traffic.Ref{Rollout: name}); err != nil {
		return fmt.Errorf("remove traffic of %s: %w", name, err)
	}
	return cp.opts.Platform.Apply(ctx, name, nil)
}

// pruneTemplates forgets the templates of revisions the rollout can no longer run: neither
// current, stable, observed, waiting for scale-down, an undo target nor in the stable history.
func pruneTemplates(rec *progress.Record) {
	st := rec.Engine
	keep := map[string]bool{st.CurrentPodHash: true, st.StableRS: true}
	for _, h := range st.History {
		keep[h] = true
	}
	for _, d := range st.ScaleDowns {
		keep[d.Hash] = true
	}
	for _, v := range rec.Revisions {
		keep[v.Hash] = true
	}
	if st.Undo != nil {
		keep[st.Undo.Target] = true
	}
	maps.DeleteFunc(rec.Templates, func(h string, _ corev1.PodTemplateSpec) bool { return !keep[h] })
}

// pruneRuns forgets finished runs of revisions that are neither current nor stable.
func pruneRuns(runs []progress.RunRef, st rollout.Status) []progress.RunRef {
	return slices.DeleteFunc(runs, func(r progress.RunRef) bool {
		return r.Done && r.Revision != st.CurrentPodHash && r.Revision != st.StableRS
	})
}

func (cp *ControlPlane) revisionViews(l *loaded, plan rollout.Plan, states []platform.RevisionState) []progress.RevisionView {
	weights := map[string]int32{}
	for _, w := range plan.Traffic.Weights {
		weights[w.Hash] = w.Weight
	}
	byName := map[string]platform.RevisionState{}
	for _, s := range states {
		byName[s.Name] = s
	}
	var out []progress.RevisionView
	for _, d := range plan.Revisions {
		s := byName[d.Hash]
		if d.Replicas == 0 && s.Replicas == 0 {
			continue
		}
		out = append(out, progress.RevisionView{
			Hash: d.Hash, Role: string(d.Role), Desired: int(d.Replicas), Replicas: s.Replicas, Ready: s.Ready,
			Available: s.Available, Failed: s.Failed, Weight: weights[d.Hash], Model: cp.modelName(l, d.Hash),
		})
	}
	return out
}

func ptrTime(t time.Time) *metav1.Time {
	m := metav1.NewTime(t)
	return &m
}

// mustJSON marshals v for optional structured detail (values that always encode).
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
