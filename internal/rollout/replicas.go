package rollout

import "slices"

// target is where one revision's replica count should end up.
type target struct {
	hash  string
	count int32
	role  RevisionRole
}

// resolve turns maxSurge / maxUnavailable into counts for spec.replicas (defaults 25% each;
// surge rounds up, unavailable rounds down, and both zero is treated as unavailable 1 so the
// update can always move).
func resolve(surge, unavailable *IntOrPercent, replicas int32) (int32, int32) {
	s := valueOf(surge, replicas, true)
	u := valueOf(unavailable, replicas, false)
	if s == 0 && u == 0 {
		u = 1
	}
	return s, u
}

func valueOf(v *IntOrPercent, replicas int32, roundUp bool) int32 {
	if v == nil {
		v = &IntOrPercent{Value: 25, Percent: true}
	}
	if !v.Percent {
		return max(v.Value, 0)
	}
	p := int64(max(v.Value, 0)) * int64(replicas)
	if roundUp {
		return int32((p + 99) / 100)
	}
	return int32(p / 100)
}

// moveReplicas moves every revision one safe step toward its target, as a Deployment's
// rolling update does: scale-ups (in the order given) only while the total stays within
// replicas+maxSurge; scale-downs remove unavailable replicas freely but available ones only
// while at least replicas-maxUnavailable stay available. Readiness and minReadySeconds gate
// progress through RevisionState.Available. Observed revisions without a target go to zero.
func (r *reconciler) moveReplicas(surgeSpec [2]*IntOrPercent, targets []target) {
	surge, unavailable := resolve(surgeSpec[0], surgeSpec[1], r.spec.Replicas)
	maxTotal := r.spec.Replicas + surge
	minAvailable := max(r.spec.Replicas-unavailable, 0)

	// every observed revision takes part; those without a target are scaled to zero.
	all := slices.Clone(targets)
	seen := map[string]bool{}
	for _, t := range targets {
		seen[t.hash] = true
	}
	for _, h := range sortedKeys(r.revs) {
		if !seen[h] {
			all = append(all, target{hash: h, count: 0, role: RoleOld})
		}
	}

	var total, available int32
	next := make([]int32, len(all))
	for i, t := range all {
		rv := r.rev(t.hash)
		next[i] = rv.Replicas
		total += rv.Replicas
		available += rv.Available
	}
	room := maxTotal - total
	for i, t := range all {
		if add := t.count - next[i]; add > 0 && room > 0 {
			add = min(add, room)
			next[i] += add
			room -= add
		}
	}
	budget := available - minAvailable
	for i, t := range all {
		excess := next[i] - t.count
		if excess <= 0 {
			continue
		}
		rv := r.rev(t.hash)
		free := min(excess, rv.Replicas-rv.Available)
		next[i] -= free
		excess -= free
		if cut := min(excess, max(budget, 0)); cut > 0 {
			next[i] -= cut
			budget -= cut
		}
	}
	for i, t := range all {
		if t.hash != "" {
			r.want(t.hash, next[i], t.role)
		}
	}
	r.effectiveWeights = true
}
