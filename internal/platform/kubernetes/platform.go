// Package kubernetes is the platform.Platform that runs a service's revisions as ReplicaSets in
// one namespace, the way Argo Rollouts does: one ReplicaSet per revision named <svc>-<hash>,
// labelled rollouts-pod-template-hash=<hash> (on its selector and pod template too), numbered by
// the rollout.argoproj.io/revision annotation and owned by the Rollout when an owner is supplied,
// so Argo's kubectl plugin and the garbage collector see what they expect.
//
// Every call reads the API server directly (no cache), so an Observe right after an Apply sees
// what the Apply wrote; writes are JSON merge patches of the fields this package owns, which
// never conflict with the ReplicaSet controller's own writes.
package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"

	"github.com/shipsafe/shipsafe/internal/platform"
)

// TypeName is what Type returns.
const TypeName = "kubernetes"

// Labels and annotations. The first two are Argo Rollouts' own, with Argo's meaning.
const (
	// HashLabel is on every ReplicaSet, in its selector and on its pods: the revision name.
	HashLabel = "rollouts-pod-template-hash"
	// RevisionAnnotation numbers a service's ReplicaSets in creation order ("1", "2", ...).
	RevisionAnnotation = "rollout.argoproj.io/revision"
	// ServiceLabel names the service (the Rollout) a ReplicaSet belongs to. It is on the
	// ReplicaSet, its selector and its pods, so two rollouts whose templates hash alike never
	// select each other's pods, and listing one service's ReplicaSets is one label query.
	ServiceLabel = "shipsafe.dev/rollout"
	// ListedAnnotation is "true" on a ReplicaSet the last Apply listed and "false" on one it
	// scaled down as absent. It lives on the object, so a restarted controller observes the
	// same revisions (a listed revision is reported even at 0 replicas; an unlisted one only
	// while it still has pods).
	ListedAnnotation = "shipsafe.dev/listed"
)

// Rollout identifies Argo's Rollout kind, the usual owner of the ReplicaSets.
const (
	RolloutAPIVersion = "argoproj.io/v1alpha1"
	RolloutKind       = "Rollout"
)

var _ platform.Platform = (*Platform)(nil)

// ErrInvalid is wrapped by Apply's errors for a service or revision Kubernetes cannot represent.
var ErrInvalid = errors.New("invalid for the kubernetes platform")

// ErrNotOwned is wrapped when a ReplicaSet with a revision's name exists but belongs to
// something else (another service, another owner, or another hash): Apply never takes it over.
var ErrNotOwned = errors.New("replicaset belongs to something else")

// OwnerFunc returns the owner reference the ReplicaSets of svc get (normally RolloutOwner of
// the Rollout named svc). An error fails the Apply that needed it.
type OwnerFunc func(ctx context.Context, svc string) (metav1.OwnerReference, error)

// Options configure a Platform.
type Options struct {
	// Client talks to the API server (required).
	Client kubernetes.Interface
	// Namespace holds every object the platform reads or writes (required).
	Namespace string
	// Owner, when set, makes every ReplicaSet it creates owned by the returned reference
	// (nil: ReplicaSets have no owner).
	Owner OwnerFunc
	// Now is the clock availability (ready for minReadySeconds) is judged by (default time.Now).
	Now func() time.Time
	// Logger receives one line per ReplicaSet created or scaled (default slog.Default()).
	Logger *slog.Logger
}

// Platform runs revisions as ReplicaSets. It holds no state of its own beyond its options, so
// it is safe for concurrent use and any number of them (one per controller replica) agree.
type Platform struct {
	client kubernetes.Interface
	ns     string
	owner  OwnerFunc
	now    func() time.Time
	log    *slog.Logger
}

// New returns a Platform working in opts.Namespace.
func New(opts Options) (*Platform, error) {
	if opts.Client == nil {
		return nil, errors.New("kubernetes platform: Options.Client is required")
	}
	if msgs := validation.IsDNS1123Label(opts.Namespace); len(msgs) > 0 {
		return nil, fmt.Errorf("kubernetes platform: Options.Namespace %q: %s", opts.Namespace, strings.Join(msgs, "; "))
	}
	p := &Platform{client: opts.Client, ns: opts.Namespace, owner: opts.Owner, now: opts.Now, log: opts.Logger}
	if p.now == nil {
		p.now = time.Now
	}
	if p.log == nil {
		p.log = slog.Default()
	}
	p.log = p.log.With("platform", TypeName, "namespace", p.ns)
	return p, nil
}

// Type returns "kubernetes".
func (p *Platform) Type() string { return TypeName }

// Namespace returns the namespace the platform works in.
func (p *Platform) Namespace() string { return p.ns }

// Usage reports Processes 0 ("nothing measured"): the platform reads no metrics API, and a
// resource judge must treat that as missing data, never as zero use.
func (p *Platform) Usage(ctx context.Context, svc, revision string) (platform.Usage, error) {
	if err := ctx.Err(); err != nil {
		return platform.Usage{}, fmt.Errorf("usage of %s/%s: %w", svc, revision, err)
	}
	return platform.Usage{}, nil
}

// RolloutOwner is the controller owner reference of the Argo Rollout name/uid: the ReplicaSets
// are garbage-collected with the Rollout, and Argo's tooling finds them by this UID.
// BlockOwnerDeletion needs update on rollouts/finalizers where the OwnerReferencesPermission-
// Enforcement admission plugin is on.
func RolloutOwner(name string, uid types.UID) metav1.OwnerReference {
	yes := true
	return metav1.OwnerReference{
		APIVersion: RolloutAPIVersion, Kind: RolloutKind, Name: name, UID: uid,
		Controller: &yes, BlockOwnerDeletion: &yes,
	}
}

// rsName is Argo's ReplicaSet name: <rollout>-<pod-template-hash>.
func rsName(svc, hash string) string { return svc + "-" + hash }

// ownLabels are the labels the platform adds to a revision's ReplicaSet, selector and pods.
func ownLabels(svc, hash string) map[string]string {
	return map[string]string{HashLabel: hash, ServiceLabel: svc}
}

// checkService checks that svc can be a label value and the prefix of object names.
func checkService(svc string) error {
	if msgs := validation.IsDNS1123Label(svc); len(msgs) > 0 {
		return fmt.Errorf("service name %q: %s: %w", svc, strings.Join(msgs, "; "), ErrInvalid)
	}
	return nil
}

// checkRevisions validates every revision before Apply changes anything, naming the field.
func checkRevisions(svc string, revs []platform.Revision) error {
	seen := make(map[string]bool, len(revs))
	for i := range revs {
		r := &revs[i]
		field := fmt.Sprintf("revisions[%d]", i)
		// The hash is a label value and the suffix of the ReplicaSet's name: a DNS label
		// (lowercase letters, digits, '-') satisfies both, and Argo's hashes are one.
		if msgs := validation.IsDNS1123Label(r.Name); len(msgs) > 0 {
			return fmt.Errorf("%s.name %q: %s: %w", field, r.Name, strings.Join(msgs, "; "), ErrInvalid)
		}
		if msgs := validation.IsDNS1123Subdomain(rsName(svc, r.Name)); len(msgs) > 0 {
			return fmt.Errorf("%s: replicaset name %q: %s: %w", field, rsName(svc, r.Name), strings.Join(msgs, "; "), ErrInvalid)
		}
		if seen[r.Name] {
			return fmt.Errorf("%s.name: duplicate %q: %w", field, r.Name, ErrInvalid)
		}
		seen[r.Name] = true
		if r.Replicas < 0 || r.Replicas > 1<<31-1 {
			return fmt.Errorf("%s.replicas: must be 0..%d, got %d: %w", field, int32(1<<31-1), r.Replicas, ErrInvalid)
		}
		if r.MinReadySeconds < 0 {
			return fmt.Errorf("%s.minReadySeconds: must be >= 0, got %d: %w", field, r.MinReadySeconds, ErrInvalid)
		}
		if len(r.Template.Spec.Containers) == 0 {
			return fmt.Errorf("%s.template.spec.containers: must have at least one container: %w", field, ErrInvalid)
		}
		own := ownLabels(svc, r.Name)
		for _, k := range []string{HashLabel, ServiceLabel} {
			if v, ok := r.Template.Labels[k]; ok && v != own[k] {
				return fmt.Errorf("%s.template.metadata.labels[%s]: %q conflicts with the platform's %q: %w", field, k, v, own[k], ErrInvalid)
			}
		}
	}
	return nil
}
