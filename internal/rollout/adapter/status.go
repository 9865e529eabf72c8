package adapter

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/shipsafe/shipsafe/api/v1alpha1"
	"github.com/shipsafe/shipsafe/internal/rollout"
)

// ArgoStatus renders the engine's status as Argo's status.rollout, so tooling that reads
// Argo's fields (phase, currentStepIndex, pauseConditions, canary weights, stableRS...)
// keeps working. generation is the spec generation the status describes.
func ArgoStatus(st rollout.Status, generation int64) v1alpha1.RolloutStatus {
	out := v1alpha1.RolloutStatus{
		Abort:              st.Abort,
		ControllerPause:    st.ControllerPause,
		AbortedAt:          metaTime(st.AbortedAt),
		CurrentPodHash:     st.CurrentPodHash,
		CurrentStepHash:    st.CurrentStepHash,
		Replicas:           st.Replicas,
		UpdatedReplicas:    st.UpdatedReplicas,
		ReadyReplicas:      st.ReadyReplicas,
		AvailableReplicas:  st.AvailableReplicas,
		CurrentStepIndex:   st.CurrentStepIndex,
		ObservedGeneration: fmt.Sprint(generation),
		StableRS:           st.StableRS,
		PromoteFull:        st.PromoteFull,
		Phase:              v1alpha1.RolloutPhase(st.Phase),
		Message:            st.Message,
	}
	for _, p := range st.PauseConditions {
		out.PauseConditions = append(out.PauseConditions, v1alpha1.PauseCondition{Reason: v1alpha1.PauseReason(p.Reason), StartTime: metav1.NewTime(p.StartTime)})
	}
	for _, c := range st.Conditions {
		t := metav1.NewTime(c.LastTransitionTime)
		out.Conditions = append(out.Conditions, v1alpha1.RolloutCondition{
			Type: v1alpha1.RolloutConditionType(c.Type), Status: corev1.ConditionStatus(c.Status),
			LastUpdateTime: t, LastTransitionTime: t, Reason: c.Reason, Message: c.Message,
		})
	}
	out.Canary.CurrentStepAnalysisRunStatus = runStatus(st.Canary.CurrentStepAnalysisRunStatus)
	out.Canary.CurrentBackgroundAnalysisRunStatus = runStatus(st.Canary.CurrentBackgroundAnalysisRunStatus)
	if len(st.Canary.Weights) > 0 {
		w := &v1alpha1.TrafficWeights{}
		for _, rw := range st.Canary.Weights {
			d := v1alpha1.WeightDestination{PodTemplateHash: rw.Hash, Weight: rw.Weight}
			switch rw.Hash {
			case st.StableRS:
				w.Stable = d
			case st.CurrentPodHash:
				w.Canary = d
			default:
				w.Additional = append(w.Additional, d)
			}
		}
		out.Canary.Weights = w
	}
	out.BlueGreen = v1alpha1.BlueGreenStatus{
		ActiveSelector: st.BlueGreen.ActiveSelector, PreviewSelector: st.BlueGreen.PreviewSelector,
		ScaleUpPreviewCheckPoint:       st.BlueGreen.ScaleUpPreviewCheckPoint,
		PrePromotionAnalysisRunStatus:  runStatus(st.BlueGreen.PrePromotionAnalysisRunStatus),
		PostPromotionAnalysisRunStatus: runStatus(st.BlueGreen.PostPromotionAnalysisRunStatus),
	}
	return out
}

func runStatus(s *rollout.AnalysisRunStatus) *v1alpha1.RolloutAnalysisRunStatus {
	if s == nil {
		return nil
	}
	return &v1alpha1.RolloutAnalysisRunStatus{Name: s.Name, Status: v1alpha1.AnalysisPhase(s.Status), Message: s.Message}
}

func metaTime(t *time.Time) *metav1.Time {
	if t == nil {
		return nil
	}
	m := metav1.NewTime(*t)
	return &m
}
