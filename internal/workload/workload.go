// Package workload says which model a pod template serves. The control plane and the API
// service name models in the audit log, the history and `status` through an Identify hook
// chosen at wiring time, so the core knows nothing of a particular model server: the
// default reads annotations on the template, the embedded runtime adds the detector's
// --model argument and artifact digests.
package workload

import corev1 "k8s.io/api/core/v1"

// Annotations on a pod template that name its model for the default Identify.
const (
	AnnotationModel       = "shipsafe.dev/model"
	AnnotationModelDigest = "shipsafe.dev/model-digest"
)

// Model names the model a revision serves.
type Model struct {
	// Name is for display ("v2", "resnet50"); never empty for a template with a container.
	Name string
	// Digest identifies the artifact ("sha256:..."), empty when unknown.
	Digest string
}

// String is "name@digest", or the name alone when the digest is unknown.
func (m Model) String() string {
	if m.Digest == "" {
		return m.Name
	}
	return m.Name + "@" + m.Digest
}

// Identify names the model a pod template serves.
type Identify func(corev1.PodTemplateSpec) Model

// FromAnnotations is the default Identify: the template's shipsafe.dev/model and
// shipsafe.dev/model-digest annotations, else the first container's image.
func FromAnnotations(t corev1.PodTemplateSpec) Model {
	m := Model{Name: t.Annotations[AnnotationModel], Digest: t.Annotations[AnnotationModelDigest]}
	if m.Name == "" && len(t.Spec.Containers) > 0 {
		m.Name = t.Spec.Containers[0].Image
	}
	return m
}
