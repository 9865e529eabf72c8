package k8stest

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// kwokAnnotation marks the nodes kwok manages (it is started with a selector on it).
const kwokAnnotation = "kwok.x-k8s.io/node"

var metav1GetOptions = metav1.GetOptions{}

// addNodes creates n fake nodes, waits for kwok to report them Ready and then removes the
// node.kubernetes.io/not-ready taint: the API server's admission adds it at creation and only the
// node-lifecycle controller (disabled: there is no kubelet) would remove it.
func (c *Cluster) addNodes(ctx context.Context, n int) error {
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("32"),
		corev1.ResourceMemory: resource.MustParse("256Gi"),
		corev1.ResourcePods:   resource.MustParse("110"),
	}
	for i := range n {
		node := &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{
				Name:        fmt.Sprintf("kwok-node-%d", i),
				Annotations: map[string]string{kwokAnnotation: "fake"},
				Labels:      map[string]string{"type": "kwok", "kubernetes.io/hostname": fmt.Sprintf("kwok-node-%d", i)},
			},
			Status: corev1.NodeStatus{Capacity: capacity, Allocatable: capacity},
		}
		if _, err := c.Client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create node %s: %w", node.Name, err)
		}
	}
	return waitFor(ctx, fmt.Sprintf("%d kwok nodes Ready and untainted", n), c.procs, func(ctx context.Context) error {
		nodes, err := c.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		ready := 0
		for i := range nodes.Items {
			nd := &nodes.Items[i]
			if !nodeReady(nd) {
				continue
			}
			if slices.ContainsFunc(nd.Spec.Taints, isNotReadyTaint) {
				nd.Spec.Taints = slices.DeleteFunc(nd.Spec.Taints, isNotReadyTaint)
				if _, err := c.Client.CoreV1().Nodes().Update(ctx, nd, metav1.UpdateOptions{}); err != nil {
					return fmt.Errorf("untaint %s: %w", nd.Name, err)
				}
				continue // counted on the next poll, once the update is visible
			}
			ready++
		}
		if ready < n {
			return fmt.Errorf("%d of %d nodes ready and untainted", ready, n)
		}
		return nil
	})
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func isNotReadyTaint(t corev1.Taint) bool {
	return t.Key == corev1.TaintNodeNotReady || t.Key == corev1.TaintNodeUnreachable
}
