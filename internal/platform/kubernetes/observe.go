package kubernetes

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/types"

	"github.com/shipsafe/shipsafe/internal/platform"
)

// Observe reports every revision of svc whose ReplicaSet the last Apply listed or that still
// has pods, sorted by name. Desired is the ReplicaSet's spec.replicas; everything else is
// counted from the pods themselves (two Lists in all), which are fresher than the
// ReplicaSet's status and give per-pod detail with the same numbers.
func (p *Platform) Observe(ctx context.Context, svc string) ([]platform.RevisionState, error) {
	if err := checkService(svc); err != nil {
		return nil, fmt.Errorf("observe %s: %w", svc, err)
	}
	rss, err := p.replicaSets(ctx, svc)
	if err != nil {
		return nil, fmt.Errorf("observe %s: %w", svc, err)
	}
	if len(rss) == 0 {
		return nil, nil
	}
	pods, err := p.pods(ctx, rss)
	if err != nil {
		return nil, fmt.Errorf("observe %s: %w", svc, err)
	}
	now := p.now()
	out := make([]platform.RevisionState, 0, len(rss))
	for _, rs := range rss {
		mine := pods[rs.UID]
		if rs.Annotations[ListedAnnotation] != "true" && replicasOf(rs) == 0 && len(mine) == 0 {
			continue // scaled down and gone: forgotten, as the Platform contract says
		}
		out = append(out, revisionState(rs, mine, now))
	}
	slices.SortFunc(out, func(a, b platform.RevisionState) int { return cmp.Compare(a.Name, b.Name) })
	return out, nil
}

// pods lists the pods of rss in one request (by hash label) and groups them by the UID of
// the ReplicaSet controlling them — the ReplicaSet controller's own notion of membership,
// which also covers pods of an adopted ReplicaSet that lack ServiceLabel.
func (p *Platform) pods(ctx context.Context, rss []*appsv1.ReplicaSet) (map[types.UID][]*corev1.Pod, error) {
	hashes := make([]string, 0, len(rss))
	uids := make(map[types.UID]bool, len(rss))
	for _, rs := range rss {
		hashes = append(hashes, rs.Labels[HashLabel])
		uids[rs.UID] = true
	}
	req, err := labels.NewRequirement(HashLabel, selection.In, hashes)
	if err != nil {
		return nil, fmt.Errorf("pod selector: %w", err)
	}
	sel := labels.NewSelector().Add(*req).String()
	list, err := p.client.CoreV1().Pods(p.ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return nil, fmt.Errorf("list pods %s in namespace %s: %w", sel, p.ns, err)
	}
	out := map[types.UID][]*corev1.Pod{}
	for i := range list.Items {
		pod := &list.Items[i]
		// A pod that ran to completion or was evicted is no replica any more: the ReplicaSet
		// controller has replaced it and only the pod garbage collector will remove it.
		if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
			continue
		}
		if ctl := metav1.GetControllerOf(pod); ctl != nil && uids[ctl.UID] {
			out[ctl.UID] = append(out[ctl.UID], pod)
		}
	}
	return out, nil
}

// revisionState summarises the pods of one ReplicaSet, counted the way platform.RevisionState
// defines: terminating pods apart, failed ones among the replicas.
func revisionState(rs *appsv1.ReplicaSet, pods []*corev1.Pod, now time.Time) platform.RevisionState {
	st := platform.RevisionState{
		Name:      rs.Labels[HashLabel],
		Desired:   int(replicasOf(rs)),
		Endpoints: []string{},
		Pods:      make([]platform.ReplicaState, 0, len(pods)),
	}
	slices.SortFunc(pods, func(a, b *corev1.Pod) int {
		if c := a.CreationTimestamp.Compare(b.CreationTimestamp.Time); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
	port := mainPort(&rs.Spec.Template)
	minReady := time.Duration(rs.Spec.MinReadySeconds) * time.Second
	for _, pod := range pods {
		st.Add(replicaState(pod, port, minReady, now))
	}
	slices.Sort(st.Endpoints)
	return st
}

// mainPort is the first port of the first container, where the local platform also serves
// (0 when the template declares none).
func mainPort(tpl *corev1.PodTemplateSpec) int32 {
	if cs := tpl.Spec.Containers; len(cs) > 0 && len(cs[0].Ports) > 0 {
		return cs[0].Ports[0].ContainerPort
	}
	return 0
}

// failingReason reports whether a container waiting for reason cannot run: crashing, or
// unable to start at all. Each ends in a back-off the kubelet repeats without progress.
func failingReason(reason string) bool {
	switch reason {
	case "CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", "InvalidImageName",
		"CreateContainerConfigError", "CreateContainerError", "RunContainerError":
		return true
	}
	return false
}

// replicaState describes one pod in the platform's terms. port is the main container port
// (0: the endpoint is the bare pod IP).
func replicaState(pod *corev1.Pod, port int32, minReady time.Duration, now time.Time) platform.ReplicaState {
	r := platform.ReplicaState{ID: pod.Name, Phase: platform.PhaseStarting}
	if ip := pod.Status.PodIP; ip != "" {
		r.Endpoint = ip
		if port > 0 {
			r.Endpoint = net.JoinHostPort(ip, strconv.Itoa(int(port)))
		}
	}
	if pod.Status.StartTime != nil {
		r.StartedAt = pod.Status.StartTime.Time
	}
	var failing string
	statuses := append(slices.Clone(pod.Status.InitContainerStatuses), pod.Status.ContainerStatuses...)
	for i := range statuses {
		cs := &statuses[i]
		r.Restarts += int(cs.RestartCount)
		if w := cs.State.Waiting; w != nil && failingReason(w.Reason) && failing == "" {
			failing = describeWaiting(cs.Name, w)
		}
		if t := cs.State.Terminated; t != nil && t.ExitCode != 0 && failing == "" && pod.Spec.RestartPolicy != corev1.RestartPolicyNever {
			failing = fmt.Sprintf("container %s: %s", cs.Name, describeTermination(t))
		}
		if t := cs.LastTerminationState.Terminated; t != nil && r.LastTermination == "" {
			r.LastTermination = describeTermination(t)
		}
	}
	if len(pod.Spec.Containers) > 0 {
		for i := range pod.Status.ContainerStatuses {
			if cs := &pod.Status.ContainerStatuses[i]; cs.Name == pod.Spec.Containers[0].Name && cs.State.Running != nil {
				r.StartedAt = cs.State.Running.StartedAt.Time
			}
		}
	}
	ready := podCondition(pod, corev1.PodReady)
	r.Ready = ready != nil && ready.Status == corev1.ConditionTrue && pod.DeletionTimestamp == nil
	if r.Ready {
		r.ReadySince = ready.LastTransitionTime.Time
		// As the ReplicaSet controller judges it: ready for minReadySeconds by this clock.
		r.Available = minReady == 0 || !now.Before(r.ReadySince.Add(minReady))
	}
	switch {
	case pod.DeletionTimestamp != nil:
		r.Phase = platform.PhaseTerminating
		r.Message = "terminating since " + pod.DeletionTimestamp.UTC().Format(time.RFC3339)
	case failing != "":
		r.Phase = platform.PhaseCrashLoopBackOff
		r.Message = failing
	case r.Ready:
		r.Phase = platform.PhaseRunning
	default:
		r.Message = notReadyMessage(pod, ready)
	}
	return r
}

func podCondition(pod *corev1.Pod, t corev1.PodConditionType) *corev1.PodCondition {
	for i := range pod.Status.Conditions {
		if pod.Status.Conditions[i].Type == t {
			return &pod.Status.Conditions[i]
		}
	}
	return nil
}

// notReadyMessage says why a live, non-failing pod is not ready yet: unscheduled, or the
// Ready condition's own reason.
func notReadyMessage(pod *corev1.Pod, ready *corev1.PodCondition) string {
	if s := podCondition(pod, corev1.PodScheduled); s != nil && s.Status == corev1.ConditionFalse {
		return joinReason("not scheduled: "+s.Reason, s.Message)
	}
	if pod.Spec.NodeName == "" {
		return "waiting to be scheduled"
	}
	if ready != nil && (ready.Reason != "" || ready.Message != "") {
		return joinReason(ready.Reason, ready.Message)
	}
	return "waiting for readiness"
}

func describeWaiting(container string, w *corev1.ContainerStateWaiting) string {
	return joinReason("container "+container+": "+w.Reason, w.Message)
}

// describeTermination renders an exit the way an operator reads it: "Error: exit code 1",
// "OOMKilled: exit code 137", "signal 9".
func describeTermination(t *corev1.ContainerStateTerminated) string {
	s := "exit code " + strconv.Itoa(int(t.ExitCode))
	if t.Signal != 0 {
		s = "signal " + strconv.Itoa(int(t.Signal))
	}
	if t.Reason != "" {
		s = t.Reason + ": " + s
	}
	return s
}

func joinReason(reason, message string) string {
	switch {
	case message == "":
		return reason
	case reason == "":
		return message
	default:
		return reason + ": " + message
	}
}
