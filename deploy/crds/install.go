package crds

import (
	"context"
	"fmt"
	"io/fs"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"
)

// Resource is the API resource of CustomResourceDefinitions.
var Resource = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// Objects returns the CRDs of Files, one object per file, sorted by file name.
func Objects() ([]*unstructured.Unstructured, error) {
	names, err := fs.Glob(Files, "*.yaml")
	if err != nil {
		return nil, err
	}
	out := make([]*unstructured.Unstructured, 0, len(names))
	for _, name := range names {
		b, err := Files.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("read crd %s: %w", name, err)
		}
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(b, &u.Object); err != nil {
			return nil, fmt.Errorf("parse crd %s: %w", name, err)
		}
		out = append(out, u)
	}
	return out, nil
}

// Install creates every CRD (one that exists already is left as it is) and waits until each
// is Established, so custom resources can be created right after.
func Install(ctx context.Context, dyn dynamic.Interface) error {
	objs, err := Objects()
	if err != nil {
		return err
	}
	for _, u := range objs {
		if _, err := dyn.Resource(Resource).Create(ctx, u, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create crd %s: %w", u.GetName(), err)
		}
		if err := WaitEstablished(ctx, dyn, u.GetName()); err != nil {
			return err
		}
	}
	return nil
}

// WaitEstablished polls the CRD name until its Established condition is True or ctx ends.
func WaitEstablished(ctx context.Context, dyn dynamic.Interface, name string) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		got, err := dyn.Resource(Resource).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("get crd %s: %w", name, err)
		}
		conds, _, _ := unstructured.NestedSlice(got.Object, "status", "conditions")
		for _, c := range conds {
			if m, _ := c.(map[string]any); m["type"] == "Established" && m["status"] == "True" {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("crd %s not Established (conditions %v): %w", name, conds, ctx.Err())
		case <-tick.C:
		}
	}
}
