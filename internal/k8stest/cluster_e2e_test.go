package k8stest_test

import (
	"context"
	"os"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/shipsafe/shipsafe/internal/k8stest"
)

var env k8stest.Env

func TestMain(m *testing.M) { os.Exit(env.Run(m)) }

// TestDeploymentBecomesReady is the cluster's smoke test: the API server, the controller
// manager's Deployment and ReplicaSet controllers, the scheduler and kwok's fake nodes together
// take a Deployment of 3 replicas to 3/3 ready.
func TestDeploymentBecomesReady(t *testing.T) {
	c := env.Cluster(t)
	ns := c.Namespace(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	labels := map[string]string{"app": "smoke"}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "smoke", Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](3),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "example.invalid/app:1"}}},
			},
		},
	}
	if _, err := c.Client.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create deployment: %v", err)
	}
	var last *appsv1.Deployment
	for {
		got, err := c.Client.AppsV1().Deployments(ns).Get(ctx, "smoke", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("get deployment: %v (last status %+v)", err, last)
		}
		last = got
		if got.Status.ReadyReplicas == 3 && got.Status.AvailableReplicas == 3 && got.Status.UpdatedReplicas == 3 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("deployment not 3/3 ready: %+v", got.Status)
		case <-time.After(200 * time.Millisecond):
		}
	}
	pods, err := c.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=smoke"})
	if err != nil {
		t.Fatalf("list pods: %v", err)
	}
	if len(pods.Items) != 3 {
		t.Fatalf("%d pods, want 3", len(pods.Items))
	}
	for _, p := range pods.Items {
		if p.Spec.NodeName == "" || p.Status.PodIP == "" || p.Status.Phase != corev1.PodRunning {
			t.Errorf("pod %s: node %q ip %q phase %s, want scheduled, with an IP, Running", p.Name, p.Spec.NodeName, p.Status.PodIP, p.Status.Phase)
		}
	}
}
