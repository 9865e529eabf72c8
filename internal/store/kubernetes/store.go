// Package kubernetes is a store.Store backed by the Kubernetes API in one namespace, so the
// controller keeps all of shipsafe's state in objects Argo Rollouts' tooling already reads:
// Rollout / AnalysisTemplate / ClusterAnalysisTemplate objects (status through the /status
// subresource), AnalysisRun objects owned by their Rollout, core/v1 Events with deterministic
// names, and ConfigMaps for the deployment history and the audit log (bounded).
//
// Kubernetes has no multi-object transactions, so Capabilities are honestly false: a status
// is stored first, then its events (by name, so a repeat stores none twice), then its audit
// entries. docs/store-kubernetes.md has the full mapping, the bounds and the RBAC verbs.
package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	k8s "k8s.io/client-go/kubernetes"

	"github.com/shipsafe/shipsafe/api/v1alpha1"
	"github.com/shipsafe/shipsafe/internal/store"
)

// Resources of the argoproj.io kinds the store reads and writes.
var (
	rolloutsGVR        = v1alpha1.SchemeGroupVersion.WithResource("rollouts")
	templatesGVR       = v1alpha1.SchemeGroupVersion.WithResource("analysistemplates")
	clusterTemplateGVR = v1alpha1.SchemeGroupVersion.WithResource("clusteranalysistemplates")
	analysisRunsGVR    = v1alpha1.SchemeGroupVersion.WithResource("analysisruns")
)

// Labels and annotations the store puts on the objects it creates.
const (
	// ManagedByLabel marks every object the store creates (events, records, runs).
	ManagedByLabel = "app.kubernetes.io/managed-by"
	managedBy      = "shipsafe"
	// RecordLabel says which record a ConfigMap holds: history, audit or ids.
	RecordLabel = "shipsafe.dev/record"
	// RolloutLabel names the rollout an AnalysisRun or history ConfigMap belongs to (when the
	// name fits a label value; RolloutAnnotation always holds it).
	RolloutLabel      = "shipsafe.dev/rollout"
	RolloutAnnotation = "shipsafe.dev/rollout"
	// HashLabel is Argo's pod-template-hash label; AnalysisRuns carry their revision in it.
	HashLabel = "rollouts-pod-template-hash"
	// WrittenAnnotation on a Rollout is what shipsafe last wrote of the status fields Argo's
	// kubectl plugin edits (see Written), so RecognizeCommands can tell the plugin's edits
	// from shipsafe's own writes.
	WrittenAnnotation = "shipsafe.dev/written"
)

// Options configure a Store.
type Options struct {
	// Dynamic reads and writes the argoproj.io kinds; Client the core ones (Events,
	// ConfigMaps). Both are required.
	Dynamic dynamic.Interface
	Client  k8s.Interface
	// Namespace holds every namespaced object (required).
	Namespace string
	// Now stamps times the store assigns (default time.Now).
	Now func() time.Time
	// Logger (default slog.Default()).
	Logger *slog.Logger
	// Component is the Events' source and reporting controller (default "shipsafe").
	Component string
	// HistoryLimit bounds the deployment history kept per rollout (default 50 entries).
	HistoryLimit int
	// AuditSegments bounds the audit log: segments of 100 entries, the oldest deleted past
	// the limit (default 20, i.e. the last 2,000 entries).
	AuditSegments int
	// ArgoCommands makes GetRollout and ListRollouts turn edits made by Argo's kubectl
	// plugin since shipsafe's last status write into pending commands (RecognizeCommands),
	// so a control plane reading through the store needs no change to obey them.
	ArgoCommands bool
}

// Store is a store.Store on the Kubernetes API. It is safe for concurrent use.
type Store struct {
	dyn       dynamic.Interface
	client    k8s.Interface
	ns        string
	now       func() time.Time
	log       *slog.Logger
	component string
	histLimit int
	auditSegs int
	argo      bool

	// recordMu serialises ID allocation with the write that uses the IDs, so within one
	// process records become visible in ID order (a reader resuming after an ID misses none).
	recordMu sync.Mutex
}

var _ store.Store = (*Store)(nil)

// New returns a store on opts.
func New(opts Options) (*Store, error) {
	if opts.Dynamic == nil || opts.Client == nil {
		return nil, errors.New("kubernetes store: Dynamic and Client: must be set")
	}
	if opts.Namespace == "" {
		return nil, errors.New("kubernetes store: Namespace: must be set")
	}
	s := &Store{dyn: opts.Dynamic, client: opts.Client, ns: opts.Namespace, now: opts.Now, log: opts.Logger,
		component: opts.Component, histLimit: opts.HistoryLimit, auditSegs: opts.AuditSegments, argo: opts.ArgoCommands}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.component == "" {
		s.component = "shipsafe"
	}
	if s.histLimit <= 0 {
		s.histLimit = 50
	}
	if s.auditSegs <= 0 {
		s.auditSegs = 20
	}
	return s, nil
}

// Capabilities: neither. Kubernetes writes one object at a time; see the package comment
// for the order of writes and what a crash between them leaves.
func (s *Store) Capabilities() store.Capabilities { return store.Capabilities{} }

// parseVersion maps a Kubernetes resourceVersion to the store's int64 version. Every API
// server backed by etcd3 serves decimal etcd revisions, which increase on every write of any
// object, so the mapping keeps the store's contract (a write always yields a larger version)
// and is reversible (formatVersion). A server with opaque non-numeric versions is refused.
func parseVersion(rv string) (int64, error) {
	v, err := strconv.ParseInt(rv, 10, 64)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("resourceVersion %q: not a positive decimal (an etcd revision); this store needs one", rv)
	}
	return v, nil
}

func formatVersion(v int64) string { return strconv.FormatInt(v, 10) }

// wrap maps the API server's errors to the store's: NotFound → ErrNotFound, Conflict and
// AlreadyExists → ErrConflict; others keep their cause.
func wrap(err error, format string, args ...any) error {
	what := fmt.Sprintf(format, args...)
	switch {
	case apierrors.IsNotFound(err):
		return fmt.Errorf("%s: %w: %w", what, store.ErrNotFound, err)
	case apierrors.IsConflict(err), apierrors.IsAlreadyExists(err):
		return fmt.Errorf("%s: %w: %w", what, store.ErrConflict, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// retryConflicts runs f until it returns something other than a Conflict (for writes with
// store.AnyVersion, which Kubernetes has no unconditional form of for custom resources).
func retryConflicts(ctx context.Context, f func() error) error {
	for attempt := 0; ; attempt++ {
		err := f()
		// A conflict already mapped to store.ErrConflict is the caller's stale version: final.
		if !apierrors.IsConflict(err) || errors.Is(err, store.ErrConflict) || attempt >= 20 {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(attempt+1) * 10 * time.Millisecond):
		}
	}
}

func gvrOf(kind string) (schema.GroupVersionResource, bool, error) {
	switch kind {
	case "", store.KindRollout:
		return rolloutsGVR, true, nil
	case store.KindAnalysisTemplate:
		return templatesGVR, true, nil
	case store.KindClusterAnalysisTemplate:
		return clusterTemplateGVR, false, nil
	}
	return schema.GroupVersionResource{}, false, fmt.Errorf("kind %q: must be Rollout, AnalysisTemplate or ClusterAnalysisTemplate", kind)
}

func (s *Store) resource(kind string) (dynamic.ResourceInterface, error) {
	gvr, namespaced, err := gvrOf(kind)
	if err != nil {
		return nil, err
	}
	if namespaced {
		return s.dyn.Resource(gvr).Namespace(s.ns), nil
	}
	return s.dyn.Resource(gvr), nil
}
