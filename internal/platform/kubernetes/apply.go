package kubernetes

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	"github.com/shipsafe/shipsafe/internal/platform"
)

// Apply creates the ReplicaSet of every listed revision that has none, scales every existing
// one to its desired replicas, and scales the ReplicaSets of svc that the list omits to 0. It
// writes only what differs (an Apply repeated with the same list makes no request but one
// List), validates everything before writing anything, and returns without waiting for pods.
//
// Scale-ups and creations go before scale-downs, and the first error stops the Apply: a
// failure part-way can leave more capacity than asked for, never less, and the next Apply
// finishes the job.
func (p *Platform) Apply(ctx context.Context, svc string, revs []platform.Revision) error {
	if err := checkService(svc); err != nil {
		return fmt.Errorf("apply %s: %w", svc, err)
	}
	if err := checkRevisions(svc, revs); err != nil {
		return fmt.Errorf("apply %s: %w", svc, err)
	}
	var owner *metav1.OwnerReference
	if p.owner != nil {
		ref, err := p.owner(ctx, svc)
		if err != nil {
			return fmt.Errorf("apply %s: owner reference: %w", svc, err)
		}
		owner = &ref
	}
	existing, err := p.replicaSets(ctx, svc)
	if err != nil {
		return fmt.Errorf("apply %s: %w", svc, err)
	}
	var mine []*appsv1.ReplicaSet
	for _, rs := range existing {
		// With an owner, a ReplicaSet controlled by another object (a deleted and recreated
		// Rollout's, awaiting garbage collection) is not this service's to scale.
		if owner == nil || controlledBy(rs, owner.UID) || metav1.GetControllerOf(rs) == nil {
			mine = append(mine, rs)
		}
	}
	next := nextRevision(existing)

	type step struct {
		rev  *platform.Revision // nil: unlisted, scale to 0
		rs   *appsv1.ReplicaSet // nil: create
		grow bool
	}
	var steps []step
	byName := map[string]*appsv1.ReplicaSet{}
	for _, rs := range mine {
		byName[rs.Name] = rs
	}
	listed := map[string]bool{}
	for i := range revs {
		rev := &revs[i]
		listed[rsName(svc, rev.Name)] = true
		rs := byName[rsName(svc, rev.Name)]
		steps = append(steps, step{rev: rev, rs: rs, grow: rs == nil || int32(rev.Replicas) >= replicasOf(rs)})
	}
	for _, rs := range mine {
		if !listed[rs.Name] {
			steps = append(steps, step{rs: rs})
		}
	}
	// Stable: growth first, then the list's order, then unlisted ones by name (mine is sorted).
	slices.SortStableFunc(steps, func(a, b step) int {
		switch {
		case a.grow == b.grow:
			return 0
		case a.grow:
			return -1
		default:
			return 1
		}
	})
	for _, s := range steps {
		switch {
		case s.rev == nil:
			err = p.update(ctx, s.rs, want{replicas: 0, listed: false, owner: owner})
		case s.rs == nil:
			err = p.create(ctx, svc, s.rev, owner, &next)
		default:
			err = p.update(ctx, s.rs, want{replicas: int32(s.rev.Replicas), minReady: &s.rev.MinReadySeconds, listed: true, owner: owner})
		}
		if err != nil {
			return fmt.Errorf("apply %s: %w", svc, err)
		}
	}
	return nil
}

// replicaSets lists the ReplicaSets of svc, sorted by name. A ReplicaSet whose name is not
// <svc>-<its hash label> is someone else's copy of the label and is ignored.
func (p *Platform) replicaSets(ctx context.Context, svc string) ([]*appsv1.ReplicaSet, error) {
	sel := labels.SelectorFromSet(labels.Set{ServiceLabel: svc}).String()
	list, err := p.client.AppsV1().ReplicaSets(p.ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return nil, fmt.Errorf("list replicasets %s in namespace %s: %w", sel, p.ns, err)
	}
	out := make([]*appsv1.ReplicaSet, 0, len(list.Items))
	for i := range list.Items {
		rs := &list.Items[i]
		if h := rs.Labels[HashLabel]; h != "" && rs.Name == rsName(svc, h) {
			out = append(out, rs)
		}
	}
	slices.SortFunc(out, func(a, b *appsv1.ReplicaSet) int { return cmp.Compare(a.Name, b.Name) })
	return out, nil
}

// create makes the ReplicaSet of rev, numbered *next (which it then advances). When one with
// that name already exists (created by an Apply whose response was lost, or by Argo Rollouts
// before a migration) and carries the same hash, it is adopted instead.
func (p *Platform) create(ctx context.Context, svc string, rev *platform.Revision, owner *metav1.OwnerReference, next *int) error {
	name := rsName(svc, rev.Name)
	podLabels := maps.Clone(rev.Template.Labels)
	if podLabels == nil {
		podLabels = map[string]string{}
	}
	maps.Copy(podLabels, ownLabels(svc, rev.Name))
	tpl := rev.Template.DeepCopy()
	tpl.Labels = podLabels
	replicas := int32(rev.Replicas)
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{
			Name:      name,
			Namespace: p.ns,
			Labels:    maps.Clone(podLabels),
			Annotations: map[string]string{
				RevisionAnnotation: strconv.Itoa(*next),
				ListedAnnotation:   "true",
			},
		},
		Spec: appsv1.ReplicaSetSpec{
			Replicas:        &replicas,
			MinReadySeconds: rev.MinReadySeconds,
			// Every template label plus the platform's: each revision selects only its own
			// pods (the selector must be a subset of the template's labels, and is).
			Selector: &metav1.LabelSelector{MatchLabels: maps.Clone(podLabels)},
			Template: *tpl,
		},
	}
	if owner != nil {
		rs.OwnerReferences = []metav1.OwnerReference{*owner}
	}
	got, err := p.client.AppsV1().ReplicaSets(p.ns).Create(ctx, rs, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return p.adopt(ctx, svc, rev, owner, next)
	}
	if err != nil {
		return fmt.Errorf("create replicaset %s/%s: %w", p.ns, name, err)
	}
	p.log.Info("created replicaset", "replicaset", got.Name, "revision", *next, "replicas", rev.Replicas)
	*next++
	return nil
}

// adopt takes over an existing ReplicaSet named like rev's when it is rev's: same hash label,
// not labelled for another service, not controlled by another owner.
func (p *Platform) adopt(ctx context.Context, svc string, rev *platform.Revision, owner *metav1.OwnerReference, next *int) error {
	name := rsName(svc, rev.Name)
	rs, err := p.client.AppsV1().ReplicaSets(p.ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("get existing replicaset %s/%s: %w", p.ns, name, err)
	}
	switch ctl := metav1.GetControllerOf(rs); {
	case rs.Labels[HashLabel] != rev.Name:
		return fmt.Errorf("replicaset %s/%s has %s=%q, want %q: %w", p.ns, name, HashLabel, rs.Labels[HashLabel], rev.Name, ErrNotOwned)
	case rs.Labels[ServiceLabel] != "" && rs.Labels[ServiceLabel] != svc:
		return fmt.Errorf("replicaset %s/%s has %s=%q: %w", p.ns, name, ServiceLabel, rs.Labels[ServiceLabel], ErrNotOwned)
	case owner != nil && ctl != nil && ctl.UID != owner.UID:
		return fmt.Errorf("replicaset %s/%s is controlled by %s %s (uid %s), not %s (uid %s): %w",
			p.ns, name, ctl.Kind, ctl.Name, ctl.UID, owner.Name, owner.UID, ErrNotOwned)
	}
	w := want{replicas: int32(rev.Replicas), minReady: &rev.MinReadySeconds, listed: true, owner: owner, svc: svc}
	if rs.Annotations[RevisionAnnotation] == "" {
		w.revision = *next
		*next++
	}
	p.log.Info("adopting existing replicaset", "replicaset", name)
	return p.update(ctx, rs, w)
}

// want is what Apply owns on an existing ReplicaSet; update writes the parts that differ.
type want struct {
	replicas int32
	minReady *int32 // nil: leave as is (an unlisted revision keeps its setting)
	listed   bool
	owner    *metav1.OwnerReference // added when the ReplicaSet has no controller yet
	svc      string                 // adoption: add ServiceLabel
	revision int                    // adoption: set RevisionAnnotation when > 0
}

// update merge-patches rs with the fields of w that differ, and nothing else: the patch names
// no field the ReplicaSet controller writes, so it never conflicts with it and needs no
// resourceVersion — except when it adds an owner reference, where a merge patch replaces the
// whole list and a concurrent change to it must not be lost.
func (p *Platform) update(ctx context.Context, rs *appsv1.ReplicaSet, w want) error {
	meta, spec := map[string]any{}, map[string]any{}
	annotations, lbls := map[string]string{}, map[string]string{}
	if listed := strconv.FormatBool(w.listed); rs.Annotations[ListedAnnotation] != listed {
		annotations[ListedAnnotation] = listed
	}
	if w.revision > 0 {
		annotations[RevisionAnnotation] = strconv.Itoa(w.revision)
	}
	if w.svc != "" && rs.Labels[ServiceLabel] != w.svc {
		lbls[ServiceLabel] = w.svc
	}
	if w.owner != nil && metav1.GetControllerOf(rs) == nil {
		meta["ownerReferences"] = append(slices.Clone(rs.OwnerReferences), *w.owner)
		meta["resourceVersion"] = rs.ResourceVersion
	}
	if replicasOf(rs) != w.replicas {
		spec["replicas"] = w.replicas
	}
	if w.minReady != nil && rs.Spec.MinReadySeconds != *w.minReady {
		spec["minReadySeconds"] = *w.minReady
	}
	if len(annotations) > 0 {
		meta["annotations"] = annotations
	}
	if len(lbls) > 0 {
		meta["labels"] = lbls
	}
	patch := map[string]any{}
	if len(meta) > 0 {
		patch["metadata"] = meta
	}
	if len(spec) > 0 {
		patch["spec"] = spec
	}
	if len(patch) == 0 {
		return nil
	}
	body, err := json.Marshal(patch)
	if err != nil {
		return fmt.Errorf("encode patch of replicaset %s/%s: %w", p.ns, rs.Name, err)
	}
	if _, err := p.client.AppsV1().ReplicaSets(p.ns).Patch(ctx, rs.Name, types.MergePatchType, body, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("patch replicaset %s/%s (replicas %d -> %d): %w", p.ns, rs.Name, replicasOf(rs), w.replicas, err)
	}
	if from := replicasOf(rs); from != w.replicas {
		p.log.Info("scaled replicaset", "replicaset", rs.Name, "from", from, "to", w.replicas)
	}
	return nil
}

// replicasOf is spec.replicas with the API's default of 1 for nil.
func replicasOf(rs *appsv1.ReplicaSet) int32 {
	if rs.Spec.Replicas == nil {
		return 1
	}
	return *rs.Spec.Replicas
}

// nextRevision is one past the highest RevisionAnnotation among rss (1 when none has one).
func nextRevision(rss []*appsv1.ReplicaSet) int {
	next := 1
	for _, rs := range rss {
		if n, err := strconv.Atoi(rs.Annotations[RevisionAnnotation]); err == nil && n >= next {
			next = n + 1
		}
	}
	return next
}

func controlledBy(rs *appsv1.ReplicaSet, uid types.UID) bool {
	ctl := metav1.GetControllerOf(rs)
	return ctl != nil && ctl.UID == uid
}
