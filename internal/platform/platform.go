// Package platform defines how the control plane runs the replicas of a revision: the
// Platform interface and the types it exchanges. Implementations live one per folder
// (local processes in platform/local; Kubernetes in platform/kubernetes) and are chosen
// by their Type() name, so adding one touches no engine code.
package platform

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Platform runs the replicas of the revisions of a service.
//
// Apply is declarative and idempotent: it sets the desired replica count of every
// revision of svc and returns without waiting for replicas to start or stop. A revision
// of svc that is absent from the list is scaled to zero and forgotten once its replicas
// have stopped. Observe reports what is actually running. The control plane calls Apply
// and Observe on every reconcile; neither may block on replica start-up.
type Platform interface {
	// Type names the implementation ("local", "kubernetes").
	Type() string
	// Apply sets the desired replicas of each revision of svc.
	Apply(ctx context.Context, svc string, revisions []Revision) error
	// Observe reports the state of every revision of svc that still has replicas or is
	// desired, sorted by revision name.
	Observe(ctx context.Context, svc string) ([]RevisionState, error)
	// Usage reports the resource use of one revision of svc, summed over its replicas.
	Usage(ctx context.Context, svc, revision string) (Usage, error)
}

// UnrunnableError is Apply's answer for a revision whose template this platform cannot run
// (no command and no entrypoint for its image, an unsupported probe): retrying does not
// help, a new template does. The control plane runs the other revisions and shows the
// rollout Degraded with Err's message instead of failing every pass.
type UnrunnableError struct {
	Revision string
	Err      error
}

func (e *UnrunnableError) Error() string {
	return fmt.Sprintf("revision %s cannot run: %v", e.Revision, e.Err)
}

func (e *UnrunnableError) Unwrap() error { return e.Err }

// Revision is the desired state of one revision of a service.
type Revision struct {
	// Name identifies the revision within the service (the pod-template hash in
	// Argo terms): 1-63 letters, digits, '-', '.', '_'.
	Name string
	// Template is the pod template the replicas run.
	Template corev1.PodTemplateSpec
	// Replicas is the desired number of replicas (0 scales the revision down).
	Replicas int
	// MinReadySeconds is how long a replica must have been ready before it counts as
	// available (the Rollout's spec.minReadySeconds).
	MinReadySeconds int32
}

// Replica phases as reported in ReplicaState.Phase.
const (
	// PhaseStarting: the process runs but is not ready yet.
	PhaseStarting = "Starting"
	// PhaseRunning: the process runs and its readiness probe passes.
	PhaseRunning = "Running"
	// PhaseCrashLoopBackOff: the process exited (or failed to start, or failed its
	// liveness probe) and is waiting for its backoff before being restarted.
	PhaseCrashLoopBackOff = "CrashLoopBackOff"
	// PhaseTerminating: the replica is being stopped (SIGTERM sent, grace running).
	PhaseTerminating = "Terminating"
)

// ReplicaState is the observed state of one replica.
type ReplicaState struct {
	// ID is stable for the life of the replica (across restarts of its process).
	ID    string `json:"id"`
	Phase string `json:"phase"`
	// PID of the current process (0 when not running).
	PID int `json:"pid,omitempty"`
	// Endpoint is "127.0.0.1:port" (host:port of the replica's main port).
	Endpoint string `json:"endpoint"`
	Ready    bool   `json:"ready"`
	// Available is Ready for at least MinReadySeconds.
	Available bool `json:"available"`
	// Restarts counts process restarts (crashes and liveness kills) of this replica.
	Restarts int `json:"restarts"`
	// LastTermination describes the last exit ("exit status 1", "signal: killed",
	// "liveness probe failed: ..."), empty when it never exited.
	LastTermination string `json:"lastTermination,omitempty"`
	// StartedAt is when the current process started.
	StartedAt time.Time `json:"startedAt,omitzero"`
	// ReadySince is when the replica last became ready (zero when not ready).
	ReadySince time.Time `json:"readySince,omitzero"`
	// Message says why the replica is not ready (probe error, backoff remaining).
	Message string `json:"message,omitempty"`
	// LogPath is the file receiving the replica's stdout and stderr (local platform).
	LogPath string `json:"logPath,omitempty"`
}

// RevisionState is the observed state of one revision of a service.
type RevisionState struct {
	Name string `json:"name"`
	// Desired replicas as last applied.
	Desired int `json:"desired"`
	// Replicas that exist and are not terminating.
	Replicas int `json:"replicas"`
	// Ready replicas (readiness probe passing).
	Ready int `json:"ready"`
	// Available replicas (ready for at least MinReadySeconds).
	Available int `json:"available"`
	// Failed replicas: crash-looping or failing to start.
	Failed int `json:"failed"`
	// Terminating replicas still shutting down.
	Terminating int `json:"terminating"`
	// Restarts summed over the revision's current replicas.
	Restarts int `json:"restarts"`
	// Endpoints of READY replicas ("127.0.0.1:port"), sorted; route traffic only here.
	Endpoints []string `json:"endpoints"`
	// Pods details every replica, terminating ones included, in creation order.
	Pods []ReplicaState `json:"pods"`
}

// Add counts one replica into the revision's state, as the fields above define: terminating
// replicas apart, failed (crash-looping) ones among the replicas, endpoints only of ready
// ones. Callers sort Endpoints once every replica is added.
func (s *RevisionState) Add(r ReplicaState) {
	s.Pods = append(s.Pods, r)
	if r.Phase == PhaseTerminating {
		s.Terminating++
		return
	}
	s.Replicas++
	s.Restarts += r.Restarts
	if r.Ready {
		s.Ready++
		if r.Endpoint != "" {
			s.Endpoints = append(s.Endpoints, r.Endpoint)
		}
	}
	if r.Available {
		s.Available++
	}
	if r.Phase == PhaseCrashLoopBackOff {
		s.Failed++
	}
}

// Usage is the resource use of a revision, summed over its replicas' processes.
type Usage struct {
	// CPUCores is CPU time per wall-clock second (1.0 = one core busy).
	CPUCores float64 `json:"cpuCores"`
	// RSSBytes is resident memory.
	RSSBytes uint64 `json:"rssBytes"`
	// Processes counted; 0 means nothing was measured (no running replica), not zero use.
	Processes int `json:"processes"`
}

// DeepCopy returns a copy of r that shares no memory with it.
func (r *Revision) DeepCopy() *Revision {
	out := *r
	r.Template.DeepCopyInto(&out.Template)
	return &out
}
