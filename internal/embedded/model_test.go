package embedded

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestDetectorModel(t *testing.T) {
	tpl := func(args ...string) corev1.PodTemplateSpec {
		return corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Image: "shipsafe", Command: []string{"shipsafe", "detector", "serve"}, Args: args}}}}
	}
	if m := detectorModel(tpl("--model", "v2")); m.Name != "v2" || !strings.HasPrefix(m.Digest, "sha256:") || len(m.Digest) != len("sha256:")+64 {
		t.Fatalf("embedded model v2: %+v", m)
	}
	if m := detectorModel(tpl("--model=/tmp/custom.json")); m.Name != "/tmp/custom.json" || m.Digest != "" {
		t.Fatalf("model file outside the embedded set: %+v", m)
	}
	if m := detectorModel(tpl()); m.Name != "shipsafe" {
		t.Fatalf("no --model falls back to the image: %+v", m)
	}
}
