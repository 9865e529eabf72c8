package apiservice

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	apimanifest "github.com/shipsafe/shipsafe/api/v1alpha1/manifest"
	"github.com/shipsafe/shipsafe/internal/store"
)

// Apply validates every document first and stores nothing unless all are valid; then
// stores every object with its audit entry in one write (templates before rollouts, so a
// rollout's analysis finds its templates) and wakes the rollouts' workers.
func (s *Service) Apply(ctx context.Context, actor string, manifest []byte) (ApplyResult, error) {
	objs, warnings, err := apimanifest.ParseWithWarnings(manifest)
	if err != nil {
		var list apimanifest.ErrorList
		if errors.As(err, &list) {
			msgs := make([]string, 0, len(list))
			for _, e := range list {
				msgs = append(msgs, e.Error())
			}
			return ApplyResult{}, &ValidationError{Errors: msgs}
		}
		return ApplyResult{}, &ValidationError{Errors: []string{err.Error()}}
	}
	slices.SortStableFunc(objs, func(a, b apimanifest.Object) int { return boolInt(a.Rollout != nil) - boolInt(b.Rollout != nil) })
	puts := make([]store.RolloutPut, 0, len(objs))
	audits := make([]store.AuditEntry, 0, len(objs))
	var res ApplyResult
	for _, w := range warnings {
		res.Warnings = append(res.Warnings, w.Error())
	}
	for _, o := range objs {
		put := store.RolloutPut{Name: o.Name(), ExpectedVersion: store.AnyVersion}
		audit := store.AuditEntry{Actor: actor, Action: "apply", Target: strings.ToLower(o.Kind) + "/" + o.Name()}
		switch {
		case o.AnalysisTemplate != nil:
			put.Kind, put.Spec = store.KindAnalysisTemplate, o.AnalysisTemplate
		case o.ClusterAnalysisTemplate != nil:
			put.Kind, put.Spec = store.KindClusterAnalysisTemplate, o.ClusterAnalysisTemplate
		case o.Rollout != nil:
			put.Kind, put.Spec = store.KindRollout, o.Rollout
			audit.ModelDigest = s.model(o.Rollout.Spec.Template).String()
		default:
			return ApplyResult{}, &InvalidError{Msg: fmt.Sprintf("%s %q: only Rollout, Deployment, AnalysisTemplate and ClusterAnalysisTemplate can be applied", o.Kind, o.Name())}
		}
		puts = append(puts, put)
		audits = append(audits, audit)
		res.Applied = append(res.Applied, o.Kind+"/"+o.Name())
	}
	if _, err := s.st.PutRollouts(ctx, puts, audits...); err != nil {
		return ApplyResult{}, fmt.Errorf("store applied objects: %w", err)
	}
	for _, o := range objs {
		if o.Rollout != nil {
			s.wake(ctx, o.Name())
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
