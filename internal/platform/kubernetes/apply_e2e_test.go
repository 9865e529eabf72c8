package kubernetes_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/shipsafe/shipsafe/internal/platform"
	"github.com/shipsafe/shipsafe/internal/platform/kubernetes"
)

// TestRevisionsScaleUpAndDown takes a service through a canary's shape: one revision up, a
// second created beside it, the first scaled down while the second scales up, then the first
// dropped from the list and forgotten once its pods are gone.
func TestRevisionsScaleUpAndDown(t *testing.T) {
	t.Parallel()
	var owner metav1.OwnerReference
	f := newFixture(t, 90*time.Second, kubernetes.Options{
		Owner: func(ctx context.Context, svc string) (metav1.OwnerReference, error) { return owner, nil },
	})
	// A real object as the owner, so the garbage collector finds it and keeps the ReplicaSets.
	cm, err := f.c.Client.CoreV1().ConfigMaps(f.ns).Create(f.ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "model"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create owner: %v", err)
	}
	yes := true
	owner = metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: cm.Name, UID: cm.UID, Controller: &yes}

	f.apply("model", revision("aaa", 3))
	rs := f.getRS("model-aaa")
	if got := rs.Labels[kubernetes.HashLabel]; got != "aaa" {
		t.Errorf("label %s = %q, want aaa", kubernetes.HashLabel, got)
	}
	for _, m := range []map[string]string{rs.Labels, rs.Spec.Selector.MatchLabels, rs.Spec.Template.Labels} {
		if m[kubernetes.HashLabel] != "aaa" || m[kubernetes.ServiceLabel] != "model" || m["app"] != "model" {
			t.Errorf("labels/selector %v: want %s=aaa, %s=model and the template's app=model", m, kubernetes.HashLabel, kubernetes.ServiceLabel)
		}
	}
	if got := rs.Annotations[kubernetes.RevisionAnnotation]; got != "1" {
		t.Errorf("annotation %s = %q, want 1", kubernetes.RevisionAnnotation, got)
	}
	if ctl := metav1.GetControllerOf(rs); ctl == nil || ctl.UID != cm.UID {
		t.Errorf("controller of model-aaa = %+v, want the owner %s", ctl, cm.UID)
	}

	got := f.waitObserve("model", ready(map[string]int{"aaa": 3}))
	aaa := got[0]
	for _, e := range aaa.Endpoints {
		host, port, err := net.SplitHostPort(e)
		if err != nil || port != "8080" || net.ParseIP(host) == nil {
			t.Errorf("endpoint %q: want <pod ip>:8080", e)
		}
	}
	if len(aaa.Pods) != 3 {
		t.Fatalf("pods %+v, want 3", aaa.Pods)
	}
	for _, p := range aaa.Pods {
		if p.Phase != platform.PhaseRunning || !p.Ready || !p.Available || !strings.HasPrefix(p.ID, "model-aaa-") || p.ReadySince.IsZero() || p.StartedAt.IsZero() {
			t.Errorf("pod %+v: want Running, ready, available, named model-aaa-*, with start and ready times", p)
		}
	}

	// The new revision is created numbered 2, and the old one scales down as it scales up.
	f.apply("model", revision("aaa", 1), revision("bbb", 3))
	if got := f.getRS("model-bbb").Annotations[kubernetes.RevisionAnnotation]; got != "2" {
		t.Errorf("model-bbb revision %q, want 2", got)
	}
	f.waitObserve("model", ready(map[string]int{"aaa": 1, "bbb": 3}))

	// Dropped from the list: scaled to 0, then no longer reported once its pod is gone.
	f.apply("model", revision("bbb", 3))
	if rs := f.getRS("model-aaa"); *rs.Spec.Replicas != 0 || rs.Annotations[kubernetes.ListedAnnotation] != "false" {
		t.Errorf("model-aaa after being dropped: replicas %d, %s=%q; want 0, false", *rs.Spec.Replicas, kubernetes.ListedAnnotation, rs.Annotations[kubernetes.ListedAnnotation])
	}
	f.waitObserve("model", ready(map[string]int{"bbb": 3}))

	// A listed revision at 0 replicas is still reported (desired 0), unlike a dropped one.
	f.apply("model", revision("bbb", 0), revision("ccc", 1))
	f.waitObserve("model", ready(map[string]int{"bbb": 0, "ccc": 1}))
	if got := f.getRS("model-ccc").Annotations[kubernetes.RevisionAnnotation]; got != "3" {
		t.Errorf("model-ccc revision %q, want 3", got)
	}
}

// TestApplyTwiceWritesNothing: once the ReplicaSet controller has caught up, repeating an
// Apply sends no write to the API server and leaves every resourceVersion as it was.
func TestApplyTwiceWritesNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 60*time.Second, kubernetes.Options{})
	revs := []platform.Revision{revision("aaa", 2), revision("bbb", 1)}
	f.apply("idem", revs...)
	f.waitObserve("idem", ready(map[string]int{"aaa": 2, "bbb": 1}))
	before := map[string]string{}
	f.waitRS(func(rss []appsv1.ReplicaSet) string {
		for _, rs := range rss {
			s := rs.Status
			if s.ObservedGeneration != rs.Generation || s.Replicas != *rs.Spec.Replicas || s.ReadyReplicas != s.Replicas || s.AvailableReplicas != s.Replicas {
				return rs.Name + " status not caught up"
			}
			before[rs.Name] = rs.ResourceVersion
		}
		return ""
	})
	writes := f.writes.Load()
	f.apply("idem", revs...)
	if n := f.writes.Load() - writes; n != 0 {
		t.Errorf("second Apply sent %d writes, want 0", n)
	}
	for name, rv := range before {
		if got := f.getRS(name).ResourceVersion; got != rv {
			t.Errorf("%s resourceVersion %s -> %s after an identical Apply", name, rv, got)
		}
	}
}

// TestMinReadySeconds: a ready pod counts as available only after minReadySeconds by the
// platform's clock, and changing minReadySeconds is patched onto the ReplicaSet.
func TestMinReadySeconds(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 60*time.Second, kubernetes.Options{})
	rev := revision("slow", 2)
	rev.MinReadySeconds = 3600
	f.apply("warm", rev)
	got := f.waitObserve("warm", func(s []platform.RevisionState) string {
		if len(s) != 1 || s[0].Ready != 2 {
			return "2 ready pods"
		}
		return ""
	})
	if got[0].Available != 0 || len(got[0].Endpoints) != 2 {
		t.Errorf("ready for less than minReadySeconds: available %d endpoints %v, want 0 available and 2 endpoints", got[0].Available, got[0].Endpoints)
	}
	f.clock.Advance(time.Hour)
	f.waitObserve("warm", ready(map[string]int{"slow": 2}))
	if got := f.getRS("warm-slow").Spec.MinReadySeconds; got != 3600 {
		t.Errorf("minReadySeconds %d, want 3600", got)
	}
	rev.MinReadySeconds = 5
	f.apply("warm", rev)
	if got := f.getRS("warm-slow").Spec.MinReadySeconds; got != 5 {
		t.Errorf("minReadySeconds after re-apply %d, want 5", got)
	}
}

// TestApplyRefusesForeignReplicaSet: a ReplicaSet that has the name of a revision but another
// hash is not adopted, and the Apply says so.
func TestApplyRefusesForeignReplicaSet(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 30*time.Second, kubernetes.Options{})
	foreign := revision("other", 0)
	replicas := int32(0)
	sel := map[string]string{"app": "foreign"}
	_, err := f.c.Client.AppsV1().ReplicaSets(f.ns).Create(f.ctx, &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "svc-aaa", Labels: map[string]string{kubernetes.HashLabel: "zzz"}},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: sel},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: sel}, Spec: foreign.Template.Spec},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create foreign replicaset: %v", err)
	}
	err = f.p.Apply(f.ctx, "svc", []platform.Revision{revision("aaa", 1)})
	if !errors.Is(err, kubernetes.ErrNotOwned) {
		t.Fatalf("apply over a foreign replicaset: %v, want ErrNotOwned", err)
	}
}

// TestApplyAdoptsArgoReplicaSet: a ReplicaSet Argo Rollouts made (same name and hash, no
// shipsafe label) is adopted and scaled, not duplicated, and keeps its revision number.
func TestApplyAdoptsArgoReplicaSet(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 60*time.Second, kubernetes.Options{})
	rev := revision("h1", 0)
	lbls := map[string]string{"app": "model", kubernetes.HashLabel: "h1"}
	replicas := int32(0)
	tpl := rev.Template.DeepCopy()
	tpl.Labels = lbls
	_, err := f.c.Client.AppsV1().ReplicaSets(f.ns).Create(f.ctx, &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "argo-h1", Labels: lbls, Annotations: map[string]string{kubernetes.RevisionAnnotation: "7"}},
		Spec:       appsv1.ReplicaSetSpec{Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: lbls}, Template: *tpl},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create argo's replicaset: %v", err)
	}
	f.apply("argo", revision("h1", 2))
	rs := f.getRS("argo-h1")
	if rs.Labels[kubernetes.ServiceLabel] != "argo" || rs.Annotations[kubernetes.RevisionAnnotation] != "7" || *rs.Spec.Replicas != 2 {
		t.Errorf("adopted replicaset: labels %v annotations %v replicas %d; want %s=argo, revision 7, 2 replicas",
			rs.Labels, rs.Annotations, *rs.Spec.Replicas, kubernetes.ServiceLabel)
	}
	// Its pods carry only Argo's labels; they are still found, through their controller.
	f.waitObserve("argo", ready(map[string]int{"h1": 2}))
}

func (f *fixture) getRS(name string) *appsv1.ReplicaSet {
	f.t.Helper()
	rs, err := f.c.Client.AppsV1().ReplicaSets(f.ns).Get(f.ctx, name, metav1.GetOptions{})
	if err != nil {
		f.t.Fatalf("get replicaset %s: %v", name, err)
	}
	return rs
}

// waitRS polls the namespace's ReplicaSets until cond returns "".
func (f *fixture) waitRS(cond func([]appsv1.ReplicaSet) string) {
	f.t.Helper()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		list, err := f.c.Client.AppsV1().ReplicaSets(f.ns).List(f.ctx, metav1.ListOptions{})
		if err != nil {
			f.t.Fatalf("list replicasets: %v", err)
		}
		last := cond(list.Items)
		if last == "" {
			return
		}
		select {
		case <-f.ctx.Done():
			f.t.Fatalf("waiting for replicasets: %v (last: %s)", f.ctx.Err(), last)
		case <-tick.C:
		}
	}
}
