package progress

import (
	"encoding/json"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/shipsafe/shipsafe/api/v1alpha1"
	"github.com/shipsafe/shipsafe/internal/rollout"
	"github.com/shipsafe/shipsafe/internal/rollout/adapter"
)

// Encode is the one stored form of a record: the Rollout's status, Argo's fields with Argo's
// meaning plus status.shipsafe for the rest. Times are kept to the second, as Kubernetes
// stores them.
func Encode(rec Record, generation int64) v1alpha1.RolloutStatus {
	e := rec.Engine
	st := adapter.ArgoStatus(e, generation)
	s := &v1alpha1.ShipsafeStatus{
		Attempt: e.Attempt, AbortMessage: e.AbortMessage, StableHistory: slices.Clone(e.History),
		ProcessedCommands: slices.Clone(e.ProcessedCommands), LastProgressAt: metaTime(e.LastProgressAt),
		ProgressMark: e.ProgressMark, DeadlineExceeded: e.DeadlineExceeded, Blocked: e.Blocked,
		PreviewAvailableAt: metaTime(e.BlueGreen.PreviewAvailableAt), Promoted: e.BlueGreen.Promoted,
		RollbackCause: rec.RollbackCause, CompletedAt: metaTime(rec.CompletedAt),
	}
	for _, d := range e.ScaleDowns {
		s.ScaleDowns = append(s.ScaleDowns, v1alpha1.RevisionScaleDown{Hash: d.Hash, At: metav1.NewTime(d.At)})
	}
	if rb := e.Rollback; rb != nil {
		s.Rollback = &v1alpha1.RollbackProgress{Action: v1alpha1.RollbackAction(rb.Action), Trigger: rb.Trigger, Reason: rb.Reason,
			StartedAt: metav1.NewTime(rb.StartedAt), RestoreWeight: rb.RestoreWeight, CutWeight: rb.CutWeight, Done: rb.Done}
		if !rb.Until.IsZero() {
			s.Rollback.Until = metaTime(&rb.Until)
		}
	}
	if u := e.Undo; u != nil {
		s.Undo = &v1alpha1.UndoProgress{CommandID: u.CommandID, From: u.From, Target: u.Target}
	}
	for _, c := range rec.Commands {
		s.PendingCommands = append(s.PendingCommands, v1alpha1.RolloutCommand{ID: c.ID, Kind: string(c.Kind), Revision: c.Revision})
	}
	for _, r := range rec.Runs {
		s.AnalysisRuns = append(s.AnalysisRuns, v1alpha1.AnalysisRunRef{Name: r.Name, Kind: string(r.Kind), Revision: r.Revision,
			Stable: r.Stable, Done: r.Done, Phase: r.Phase, Latest: r.Latest})
	}
	s.Traffic = encodeTraffic(rec.Traffic)
	for _, v := range rec.Revisions {
		s.Revisions = append(s.Revisions, v1alpha1.RevisionState{Hash: v.Hash, Role: v.Role, Desired: int32(v.Desired), Replicas: int32(v.Replicas),
			Ready: int32(v.Ready), Available: int32(v.Available), Failed: int32(v.Failed), Weight: v.Weight, Model: v.Model})
	}
	if rec.HistoryID != 0 {
		s.OpenHistory = &v1alpha1.HistoryRef{ID: rec.HistoryID, Revision: rec.HistoryRevision, StartedAt: metav1.NewTime(rec.HistoryStartedAt), Model: rec.HistoryModel}
	}
	if len(rec.Triggers) > 0 {
		s.Triggers = &runtime.RawExtension{Raw: slices.Clone(rec.Triggers)}
	}
	if len(rec.Templates) > 0 {
		s.Templates = rec.Templates
	}
	st.Shipsafe = s
	return st
}

// fromStatus is Encode's inverse.
func fromStatus(st v1alpha1.RolloutStatus) Record {
	s := st.Shipsafe
	if s == nil {
		s = &v1alpha1.ShipsafeStatus{}
	}
	e := rollout.Status{
		Phase: rollout.Phase(st.Phase), Message: st.Message, CurrentPodHash: st.CurrentPodHash, StableRS: st.StableRS,
		CurrentStepIndex: st.CurrentStepIndex, CurrentStepHash: st.CurrentStepHash, ControllerPause: st.ControllerPause,
		Abort: st.Abort, AbortedAt: goTime(st.AbortedAt), PromoteFull: st.PromoteFull,
		Replicas: st.Replicas, UpdatedReplicas: st.UpdatedReplicas, ReadyReplicas: st.ReadyReplicas, AvailableReplicas: st.AvailableReplicas,
		Attempt: s.Attempt, AbortMessage: s.AbortMessage, History: s.StableHistory, ProcessedCommands: s.ProcessedCommands,
		LastProgressAt: goTime(s.LastProgressAt), ProgressMark: s.ProgressMark, DeadlineExceeded: s.DeadlineExceeded, Blocked: s.Blocked,
	}
	for _, p := range st.PauseConditions {
		e.PauseConditions = append(e.PauseConditions, rollout.PauseCondition{Reason: string(p.Reason), StartTime: p.StartTime.UTC()})
	}
	for _, c := range st.Conditions {
		e.Conditions = append(e.Conditions, rollout.Condition{Type: string(c.Type), Status: string(c.Status), Reason: c.Reason, Message: c.Message, LastTransitionTime: c.LastTransitionTime.UTC()})
	}
	e.Canary.CurrentStepAnalysisRunStatus = runStatus(st.Canary.CurrentStepAnalysisRunStatus)
	e.Canary.CurrentBackgroundAnalysisRunStatus = runStatus(st.Canary.CurrentBackgroundAnalysisRunStatus)
	e.Canary.Weights = weightsOf(st.Canary.Weights)
	e.BlueGreen = rollout.BlueGreenStatus{
		ActiveSelector: st.BlueGreen.ActiveSelector, PreviewSelector: st.BlueGreen.PreviewSelector, ScaleUpPreviewCheckPoint: st.BlueGreen.ScaleUpPreviewCheckPoint,
		PrePromotionAnalysisRunStatus:  runStatus(st.BlueGreen.PrePromotionAnalysisRunStatus),
		PostPromotionAnalysisRunStatus: runStatus(st.BlueGreen.PostPromotionAnalysisRunStatus),
		PreviewAvailableAt:             goTime(s.PreviewAvailableAt), Promoted: s.Promoted,
	}
	for _, d := range s.ScaleDowns {
		e.ScaleDowns = append(e.ScaleDowns, rollout.ScaleDown{Hash: d.Hash, At: d.At.UTC()})
	}
	if rb := s.Rollback; rb != nil {
		e.Rollback = &rollout.RollbackStatus{Action: rollout.RollbackAction(rb.Action), Trigger: rb.Trigger, Reason: rb.Reason,
			StartedAt: rb.StartedAt.UTC(), RestoreWeight: rb.RestoreWeight, CutWeight: rb.CutWeight, Done: rb.Done}
		if rb.Until != nil {
			e.Rollback.Until = rb.Until.UTC()
		}
	}
	if u := s.Undo; u != nil {
		e.Undo = &rollout.UndoStatus{CommandID: u.CommandID, From: u.From, Target: u.Target}
	}
	rec := Record{Status: st, Engine: e, Templates: s.Templates, RollbackCause: s.RollbackCause, CompletedAt: goTime(s.CompletedAt)}
	for _, c := range s.PendingCommands {
		rec.Commands = append(rec.Commands, rollout.Command{ID: c.ID, Kind: rollout.CommandKind(c.Kind), Revision: c.Revision})
	}
	for _, r := range s.AnalysisRuns {
		rec.Runs = append(rec.Runs, RunRef{Name: r.Name, Kind: rollout.AnalysisKind(r.Kind), Revision: r.Revision, Stable: r.Stable, Done: r.Done, Phase: r.Phase, Latest: r.Latest})
	}
	rec.Traffic = decodeTraffic(s.Traffic)
	for _, v := range s.Revisions {
		rec.Revisions = append(rec.Revisions, RevisionView{Hash: v.Hash, Role: v.Role, Desired: int(v.Desired), Replicas: int(v.Replicas),
			Ready: int(v.Ready), Available: int(v.Available), Failed: int(v.Failed), Weight: v.Weight, Model: v.Model})
	}
	if h := s.OpenHistory; h != nil {
		rec.HistoryID, rec.HistoryRevision, rec.HistoryStartedAt, rec.HistoryModel = h.ID, h.Revision, h.StartedAt.UTC(), h.Model
	}
	if s.Triggers != nil && len(s.Triggers.Raw) > 0 {
		rec.Triggers = json.RawMessage(s.Triggers.Raw)
	}
	return rec
}

func encodeTraffic(t rollout.Traffic) *v1alpha1.TrafficState {
	out := &v1alpha1.TrafficState{Preview: t.Preview}
	for _, w := range t.Weights {
		out.Weights = append(out.Weights, v1alpha1.WeightDestination{PodTemplateHash: w.Hash, Weight: w.Weight})
	}
	for _, hr := range t.HeaderRoutes {
		s := v1alpha1.HeaderRouteState{Revision: hr.Revision}
		s.Name = hr.Name
		for _, m := range hr.Match {
			v := v1alpha1.StringMatch(m.HeaderValue)
			s.Match = append(s.Match, v1alpha1.HeaderRoutingMatch{HeaderName: m.HeaderName, HeaderValue: &v})
		}
		out.HeaderRoutes = append(out.HeaderRoutes, s)
	}
	for _, m := range t.Mirrors {
		s := v1alpha1.MirrorRouteState{Revision: m.Revision}
		s.Name, s.Percentage = m.Name, &m.Percentage
		for _, rm := range m.Match {
			s.Match = append(s.Match, v1alpha1.RouteMatch{Method: stringMatch(rm.Method), Path: stringMatch(rm.Path), Headers: apiHeaders(rm.Headers)})
		}
		out.Mirrors = append(out.Mirrors, s)
	}
	return out
}

func decodeTraffic(t *v1alpha1.TrafficState) rollout.Traffic {
	if t == nil {
		return rollout.Traffic{}
	}
	out := rollout.Traffic{Preview: t.Preview}
	for _, w := range t.Weights {
		out.Weights = append(out.Weights, rollout.RevisionWeight{Hash: w.PodTemplateHash, Weight: w.Weight})
	}
	for _, hr := range t.HeaderRoutes {
		r := rollout.HeaderRouteTarget{Revision: hr.Revision}
		r.Name = hr.Name
		for _, m := range hr.Match {
			hm := rollout.HeaderMatch{HeaderName: m.HeaderName}
			if m.HeaderValue != nil {
				hm.HeaderValue = rollout.StringMatch(*m.HeaderValue)
			}
			r.Match = append(r.Match, hm)
		}
		out.HeaderRoutes = append(out.HeaderRoutes, r)
	}
	for _, m := range t.Mirrors {
		r := rollout.MirrorTarget{Revision: m.Revision}
		r.Name = m.Name
		if m.Percentage != nil {
			r.Percentage = *m.Percentage
		}
		for _, rm := range m.Match {
			r.Match = append(r.Match, rollout.RouteMatch{Method: engineMatch(rm.Method), Path: engineMatch(rm.Path), Headers: engineHeaders(rm.Headers)})
		}
		out.Mirrors = append(out.Mirrors, r)
	}
	return out
}

func stringMatch(m *rollout.StringMatch) *v1alpha1.StringMatch {
	if m == nil {
		return nil
	}
	v := v1alpha1.StringMatch(*m)
	return &v
}

func engineMatch(m *v1alpha1.StringMatch) *rollout.StringMatch {
	if m == nil {
		return nil
	}
	v := rollout.StringMatch(*m)
	return &v
}

func apiHeaders(in map[string]rollout.StringMatch) map[string]v1alpha1.StringMatch {
	if in == nil {
		return nil
	}
	out := make(map[string]v1alpha1.StringMatch, len(in))
	for k, v := range in {
		out[k] = v1alpha1.StringMatch(v)
	}
	return out
}

func engineHeaders(in map[string]v1alpha1.StringMatch) map[string]rollout.StringMatch {
	if in == nil {
		return nil
	}
	out := make(map[string]rollout.StringMatch, len(in))
	for k, v := range in {
		out[k] = rollout.StringMatch(v)
	}
	return out
}

// weightsOf reads Argo's weights back in the engine's order: stable first, then by hash.
func weightsOf(w *v1alpha1.TrafficWeights) []rollout.RevisionWeight {
	if w == nil {
		return nil
	}
	var out []rollout.RevisionWeight
	if w.Stable.PodTemplateHash != "" && w.Stable.Weight > 0 {
		out = append(out, rollout.RevisionWeight{Hash: w.Stable.PodTemplateHash, Weight: w.Stable.Weight})
	}
	var rest []rollout.RevisionWeight
	for _, d := range append([]v1alpha1.WeightDestination{w.Canary}, w.Additional...) {
		if d.PodTemplateHash != "" && d.Weight > 0 {
			rest = append(rest, rollout.RevisionWeight{Hash: d.PodTemplateHash, Weight: d.Weight})
		}
	}
	slices.SortFunc(rest, func(a, b rollout.RevisionWeight) int { return strings.Compare(a.Hash, b.Hash) })
	return append(out, rest...)
}

func runStatus(s *v1alpha1.RolloutAnalysisRunStatus) *rollout.AnalysisRunStatus {
	if s == nil {
		return nil
	}
	return &rollout.AnalysisRunStatus{Name: s.Name, Status: rollout.AnalysisPhase(s.Status), Message: s.Message}
}

func metaTime(t *time.Time) *metav1.Time {
	if t == nil {
		return nil
	}
	m := metav1.NewTime(*t)
	return &m
}

func goTime(t *metav1.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
