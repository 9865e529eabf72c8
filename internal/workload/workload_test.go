package workload

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestFromAnnotations(t *testing.T) {
	for _, tc := range []struct {
		name string
		tpl  corev1.PodTemplateSpec
		want string
	}{
		{"annotations win", corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{AnnotationModel: "v2", AnnotationModelDigest: "sha256:ab"}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Image: "detector:1"}}}}, "v2@sha256:ab"},
		{"image without annotations", corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Image: "detector:1"}}}}, "detector:1"},
		{"nothing", corev1.PodTemplateSpec{}, ""},
	} {
		if got := FromAnnotations(tc.tpl).String(); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}
