package kubecontroller

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"

	"github.com/shipsafe/shipsafe/api/v1alpha1"
	kplatform "github.com/shipsafe/shipsafe/internal/platform/kubernetes"
)

// startInformers watches the namespace's Rollouts, ReplicaSets and Pods and wakes the rollout
// each change concerns. Wakes reach the control loop only on the leader; a stand-by keeps its
// caches warm so a takeover starts from synced state. It returns once the caches have synced.
func (c *Controller) startInformers(ctx context.Context, wg *sync.WaitGroup) error {
	dynFactory := dynamicinformer.NewFilteredDynamicSharedInformerFactory(c.dyn, c.opts.Resync, c.opts.Namespace, nil)
	rollouts := dynFactory.ForResource(v1alpha1.SchemeGroupVersion.WithResource("rollouts")).Informer()
	factory := informers.NewSharedInformerFactoryWithOptions(c.client, c.opts.Resync, informers.WithNamespace(c.opts.Namespace))
	rsInformer := factory.Apps().V1().ReplicaSets().Informer()
	podInformer := factory.Core().V1().Pods().Informer()

	handlers := []struct {
		kind string
		inf  cache.SharedIndexInformer
		name func(obj any) string
	}{
		{"rollout", rollouts, func(obj any) string {
			if m, err := metaOf(obj); err == nil {
				return m.GetName()
			}
			return ""
		}},
		{"replicaset", rsInformer, func(obj any) string {
			if rs, ok := unwrap(obj).(*appsv1.ReplicaSet); ok {
				return rolloutOf(&rs.ObjectMeta)
			}
			return ""
		}},
		{"pod", podInformer, func(obj any) string {
			pod, ok := unwrap(obj).(*corev1.Pod)
			if !ok {
				return ""
			}
			if name := rolloutOf(&pod.ObjectMeta); name != "" {
				return name
			}
			// A pod of an adopted Argo ReplicaSet has only Argo's labels: go through its owner.
			if ref := metav1.GetControllerOf(pod); ref != nil && ref.Kind == "ReplicaSet" {
				if obj, ok, _ := rsInformer.GetStore().GetByKey(c.opts.Namespace + "/" + ref.Name); ok {
					if rs, ok := obj.(*appsv1.ReplicaSet); ok {
						return rolloutOf(&rs.ObjectMeta)
					}
				}
			}
			return ""
		}},
	}
	for _, h := range handlers {
		wake := func(obj any) {
			name := h.name(obj)
			if name == "" {
				return
			}
			c.metrics.observed(h.kind)
			c.waker.Wake(ctx, name)
		}
		if _, err := h.inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    wake,
			UpdateFunc: func(_, obj any) { wake(obj) },
			DeleteFunc: wake,
		}); err != nil {
			return fmt.Errorf("informer on %ss: %w", h.kind, err)
		}
	}
	wg.Add(2)
	go func() { defer wg.Done(); dynFactory.Start(ctx.Done()); <-ctx.Done(); dynFactory.Shutdown() }()
	go func() { defer wg.Done(); factory.Start(ctx.Done()); <-ctx.Done(); factory.Shutdown() }()

	// A missing CRD or RBAC rule shows as a cache that never syncs: say so rather than hang.
	syncCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if !cache.WaitForCacheSync(syncCtx.Done(), rollouts.HasSynced, rsInformer.HasSynced, podInformer.HasSynced) {
		if ctx.Err() != nil {
			return fmt.Errorf("informers: %w", ctx.Err())
		}
		return fmt.Errorf("informers on rollouts, replicasets and pods in %s did not sync in 2m (are the CRDs installed and the RBAC rules granted?)", c.opts.Namespace)
	}
	c.mu.Lock()
	c.synced = true
	c.mu.Unlock()
	return nil
}

// rolloutOf names the Rollout an object belongs to: its controlling Rollout owner, else the
// platform's service label.
func rolloutOf(m *metav1.ObjectMeta) string {
	for _, ref := range m.OwnerReferences {
		if ref.Kind == v1alpha1.KindRollout && strings.HasPrefix(ref.APIVersion, v1alpha1.GroupName+"/") {
			return ref.Name
		}
	}
	return m.Labels[kplatform.ServiceLabel]
}

// unwrap returns the last known object of a delete whose final state the watch missed.
func unwrap(obj any) any {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		return d.Obj
	}
	return obj
}

func metaOf(obj any) (metav1.Object, error) {
	return apimeta.Accessor(unwrap(obj))
}
