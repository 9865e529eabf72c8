package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
)

// ErrServiceNotFound is matched (errors.Is) by every *ServiceNotFoundError.
var ErrServiceNotFound = errors.New("service not found")

// ServiceNotFoundError is SetServiceSelector's error when the Service a strategy names does
// not exist. It is the user's configuration to fix, not a failure to retry fast: a controller
// reports it as a Degraded condition naming Namespace/Name.
type ServiceNotFoundError struct {
	Namespace, Name string
	// Err is the API server's NotFound error (apierrors.IsNotFound holds on it).
	Err error
}

func (e *ServiceNotFoundError) Error() string {
	return fmt.Sprintf("service %s/%s not found", e.Namespace, e.Name)
}

// Unwrap gives the API server's error.
func (e *ServiceNotFoundError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrServiceNotFound) hold.
func (e *ServiceNotFoundError) Is(target error) bool { return target == ErrServiceNotFound }

// SetServiceSelector points Service namespace/service at the pods of revision hash, as Argo
// Rollouts does for stableService, canaryService, activeService and previewService: the
// selector gains (or changes) rollouts-pod-template-hash=<hash> and keeps its other keys. It
// writes nothing when the selector already says so. namespace "" is the platform's namespace.
// A missing Service is a *ServiceNotFoundError.
func (p *Platform) SetServiceSelector(ctx context.Context, namespace, service, hash string) error {
	if namespace == "" {
		namespace = p.ns
	}
	if msgs := validation.IsDNS1123Label(hash); len(msgs) > 0 {
		return fmt.Errorf("set selector of service %s/%s: hash %q: %s: %w", namespace, service, hash, strings.Join(msgs, "; "), ErrInvalid)
	}
	svc, err := p.client.CoreV1().Services(namespace).Get(ctx, service, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return &ServiceNotFoundError{Namespace: namespace, Name: service, Err: err}
	}
	if err != nil {
		return fmt.Errorf("get service %s/%s: %w", namespace, service, err)
	}
	if svc.Spec.Selector[HashLabel] == hash {
		return nil
	}
	// A merge patch of one selector key: other keys, and every field the user or another
	// controller owns, are left alone.
	patch := fmt.Appendf(nil, `{"spec":{"selector":{%q:%q}}}`, HashLabel, hash)
	_, err = p.client.CoreV1().Services(namespace).Patch(ctx, service, types.MergePatchType, patch, metav1.PatchOptions{})
	if apierrors.IsNotFound(err) { // deleted since the Get
		return &ServiceNotFoundError{Namespace: namespace, Name: service, Err: err}
	}
	if err != nil {
		return fmt.Errorf("patch selector of service %s/%s to %s=%s: %w", namespace, service, HashLabel, hash, err)
	}
	p.log.Info("service selector set", "service", namespace+"/"+service, "from", svc.Spec.Selector[HashLabel], "to", hash)
	return nil
}
