package embedded

import (
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/shipsafe/shipsafe/internal/workload"
	"github.com/shipsafe/shipsafe/models"
)

// detectorModel names the model a template serves in the embedded runtime: the detector's
// --model argument and, for its embedded versions, the artifact's SHA-256 that the server
// verifies at load ("v2@sha256:<hex>"). Templates that do not run the detector fall back to
// the annotations (workload.FromAnnotations).
func detectorModel(t corev1.PodTemplateSpec) workload.Model {
	m := workload.FromAnnotations(t)
	if t.Annotations[workload.AnnotationModel] != "" || len(t.Spec.Containers) == 0 {
		return m
	}
	c := t.Spec.Containers[0]
	args := append(append([]string{}, c.Command...), c.Args...)
	for i, a := range args {
		name := ""
		if a == "--model" && i+1 < len(args) {
			name = args[i+1]
		} else if v, ok := strings.CutPrefix(a, "--model="); ok {
			name = v
		}
		if name == "" {
			continue
		}
		m = workload.Model{Name: name}
		if sha, err := models.Digest(name); err == nil {
			m.Digest = "sha256:" + sha
		}
		return m
	}
	return m
}
