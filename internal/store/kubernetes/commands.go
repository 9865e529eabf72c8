package kubernetes

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/shipsafe/shipsafe/api/v1alpha1"
	"github.com/shipsafe/shipsafe/internal/rollout"
	"github.com/shipsafe/shipsafe/internal/rollout/adapter"
)

// The status fields Argo's kubectl plugin (v1.10) edits with JSON merge patches to /status.
const (
	fieldAbort           = "abort"
	fieldPromoteFull     = "promoteFull"
	fieldCurrentStep     = "currentStepIndex"
	fieldPauseConditions = "pauseConditions"
)

var editable = []string{fieldAbort, fieldPromoteFull, fieldCurrentStep, fieldPauseConditions}

// Written is what shipsafe last wrote of what Argo's kubectl plugin edits, kept in the
// Rollout's shipsafe.dev/written annotation by every UpdateStatus (the /status subresource
// cannot carry metadata, so it is a second write; see UpdateStatus).
type Written struct {
	// Version is the resourceVersion of the status write described.
	Version int64 `json:"version"`
	// Generation, Paused and Template are metadata.generation, spec.paused and the
	// pod-template hash of spec.template at that write.
	Generation int64  `json:"generation"`
	Paused     bool   `json:"paused,omitempty"`
	Template   string `json:"template,omitempty"`
	// The editable status fields as written.
	Abort            bool   `json:"abort,omitempty"`
	PromoteFull      bool   `json:"promoteFull,omitempty"`
	CurrentStepIndex *int64 `json:"currentStepIndex,omitempty"`
	ControllerPause  bool   `json:"controllerPause,omitempty"`
	PauseConditions  []any  `json:"pauseConditions,omitempty"`
	// Digest is a hash of the rest of the status: when the live status has another digest,
	// something other than the plugin changed it since (or the annotation is older than the
	// status after a crash between the two writes), and nothing is recognised.
	Digest string `json:"digest"`
}

// Recognized is what RecognizeCommands found.
type Recognized struct {
	// Commands are the plugin's edits as the control plane's commands, in the order the
	// engine should apply them. IDs are "argo-<kind>-<Written.Version>": the same edit read
	// twice before shipsafe writes again gives the same command, which the engine applies once.
	Commands []v1alpha1.RolloutCommand
	// Status is the live status with the recognised edits undone (the fields as shipsafe
	// wrote them) and the commands appended to status.shipsafe.pendingCommands: the stored
	// status the control plane should decode in place of the live one.
	Status map[string]any
	// Kept names edits taken as they are, without a command (a currentStepIndex other than
	// the next step: the engine continues from the index, as Argo does).
	Kept []string
	// Undo is the revision spec.template was returned to (kubectl argo rollouts undo
	// rewrites the spec; the engine handles it as a template change). Informational.
	Undo string
	// Stale: no annotation, or it does not describe the live status; nothing recognised.
	Stale bool
}

// writtenOf describes the status of u as shipsafe just wrote it.
func writtenOf(u *unstructured.Unstructured) (Written, error) {
	v, err := parseVersion(u.GetResourceVersion())
	if err != nil {
		return Written{}, err
	}
	st, _ := u.Object["status"].(map[string]any)
	w := Written{Version: v, Generation: u.GetGeneration()}
	w.Paused, _, _ = unstructured.NestedBool(u.Object, "spec", "paused")
	w.Template = templateHash(u)
	w.Abort, _ = st[fieldAbort].(bool)
	w.PromoteFull, _ = st[fieldPromoteFull].(bool)
	w.ControllerPause, _ = st["controllerPause"].(bool)
	if i, ok := st[fieldCurrentStep].(int64); ok {
		w.CurrentStepIndex = &i
	}
	w.PauseConditions, _ = st[fieldPauseConditions].([]any)
	if w.Digest, err = digest(st); err != nil {
		return Written{}, err
	}
	return w, nil
}

// digest hashes the status without the fields the plugin edits (map keys marshal sorted).
func digest(st map[string]any) (string, error) {
	rest := maps.Clone(st)
	for _, f := range editable {
		delete(rest, f)
	}
	b, err := json.Marshal(rest)
	if err != nil {
		return "", fmt.Errorf("digest status: %w", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:12]), nil
}

func templateHash(u *unstructured.Unstructured) string {
	raw, ok, _ := unstructured.NestedMap(u.Object, "spec", "template")
	if !ok {
		return ""
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return ""
	}
	var t corev1.PodTemplateSpec
	if json.Unmarshal(b, &t) != nil {
		return ""
	}
	return adapter.TemplateHash(t)
}

// RecognizeCommands compares a Rollout read from the cluster with its shipsafe.dev/written
// annotation (what shipsafe last wrote) and turns the edits Argo's kubectl plugin makes into
// commands. See Recognize.
func RecognizeCommands(u *unstructured.Unstructured) (Recognized, error) {
	raw, ok := u.GetAnnotations()[WrittenAnnotation]
	if !ok {
		return Recognize(nil, u)
	}
	var w Written
	if err := json.Unmarshal([]byte(raw), &w); err != nil {
		return Recognized{}, fmt.Errorf("rollout %q: annotation %s: %w", u.GetName(), WrittenAnnotation, err)
	}
	return Recognize(&w, u)
}

// RecognizeRollout is RecognizeCommands for a typed Rollout (e.g. from a typed informer):
// the status shipsafe wrote was encoding/json's form of these types, so re-encoding gives the
// same fields and the same digest.
func RecognizeRollout(ro *v1alpha1.Rollout) (Recognized, error) {
	c := ro.DeepCopy()
	c.APIVersion, c.Kind = v1alpha1.ArgoGroupVersion, v1alpha1.KindRollout
	b, err := json.Marshal(c)
	if err != nil {
		return Recognized{}, fmt.Errorf("rollout %q: encode: %w", ro.Name, err)
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(b); err != nil {
		return Recognized{}, fmt.Errorf("rollout %q: decode: %w", ro.Name, err)
	}
	return RecognizeCommands(u)
}

// Recognize turns the differences between prev (what shipsafe last wrote; nil when unknown)
// and the live Rollout u into commands, as Argo's kubectl plugin v1.10 makes them:
//
//	status {"abort": true}              → abort
//	status {"abort": false}             → retry (after an abort)
//	status {"promoteFull": true}        → promote-full
//	status {"pauseConditions": null}    → promote (a step pause), resume (a user pause)
//	status {"currentStepIndex": N}      → promote when N is the next step, else kept as set
//	spec {"paused": true} / false       → pause / resume
//	spec.template rewritten (undo)      → Undo names the revision (a spec change, no command)
//
// The edited fields are put back as shipsafe wrote them, so the engine applies each change
// once, as a command (with its checks, events and audit), not as an unexplained state.
func Recognize(prev *Written, u *unstructured.Unstructured) (Recognized, error) {
	st, _ := u.Object["status"].(map[string]any)
	rec := Recognized{Status: st}
	if prev == nil {
		rec.Stale = true
		return rec, nil
	}
	d, err := digest(st)
	if err != nil {
		return Recognized{}, err
	}
	if d != prev.Digest {
		rec.Stale = true
		return rec, nil
	}
	out := maps.Clone(st)
	if out == nil {
		out = map[string]any{}
	}
	var kinds []rollout.CommandKind
	add := func(k rollout.CommandKind) {
		if !slices.Contains(kinds, k) {
			kinds = append(kinds, k)
		}
	}
	restore := func(field string, v any, zero bool) {
		if zero {
			delete(out, field)
		} else {
			out[field] = v
		}
	}

	paused, _, _ := unstructured.NestedBool(u.Object, "spec", "paused")
	if paused && !prev.Paused {
		add(rollout.CommandPause)
	}
	if abort, _ := st[fieldAbort].(bool); abort != prev.Abort {
		if abort {
			add(rollout.CommandAbort)
		} else {
			add(rollout.CommandRetry)
		}
		restore(fieldAbort, prev.Abort, !prev.Abort)
	}
	if pf, _ := st[fieldPromoteFull].(bool); pf && !prev.PromoteFull {
		add(rollout.CommandPromoteFull)
		restore(fieldPromoteFull, prev.PromoteFull, !prev.PromoteFull)
	}
	if pcs, _ := st[fieldPauseConditions].([]any); len(pcs) == 0 && len(prev.PauseConditions) > 0 {
		if hasReason(prev.PauseConditions, rollout.PauseUserCommand) {
			add(rollout.CommandResume)
		}
		if prev.ControllerPause || hasOtherReason(prev.PauseConditions, rollout.PauseUserCommand) {
			add(rollout.CommandPromote)
		}
		restore(fieldPauseConditions, prev.PauseConditions, false)
	}
	if i, ok := st[fieldCurrentStep].(int64); ok && (prev.CurrentStepIndex == nil || i != *prev.CurrentStepIndex) {
		if prev.CurrentStepIndex != nil && i == *prev.CurrentStepIndex+1 {
			add(rollout.CommandPromote)
			restore(fieldCurrentStep, *prev.CurrentStepIndex, false)
		} else {
			rec.Kept = append(rec.Kept, fmt.Sprintf("%s=%d", fieldCurrentStep, i))
		}
	}
	if !paused && prev.Paused {
		add(rollout.CommandResume)
	}
	if h := templateHash(u); u.GetGeneration() != prev.Generation && h != "" && h != prev.Template && knownRevision(st, h) {
		rec.Undo = h
	}

	done := doneCommands(st)
	for _, k := range kinds {
		id := fmt.Sprintf("argo-%s-%d", k, prev.Version)
		if !done[id] {
			rec.Commands = append(rec.Commands, v1alpha1.RolloutCommand{ID: id, Kind: string(k)})
		}
	}
	if len(rec.Commands) == 0 {
		return rec, nil
	}
	ss, _ := out["shipsafe"].(map[string]any)
	ss = maps.Clone(ss)
	if ss == nil {
		ss = map[string]any{}
	}
	pending, _ := ss["pendingCommands"].([]any)
	pending = slices.Clone(pending)
	for _, c := range rec.Commands {
		pending = append(pending, map[string]any{"id": c.ID, "kind": c.Kind})
	}
	ss["pendingCommands"] = pending
	out["shipsafe"] = ss
	rec.Status = out
	return rec, nil
}

func hasReason(pcs []any, reason string) bool {
	for _, p := range pcs {
		if m, ok := p.(map[string]any); ok && m["reason"] == reason {
			return true
		}
	}
	return false
}

func hasOtherReason(pcs []any, reason string) bool {
	for _, p := range pcs {
		if m, ok := p.(map[string]any); ok && m["reason"] != reason {
			return true
		}
	}
	return false
}

// doneCommands are the command IDs already pending or processed in the status.
func doneCommands(st map[string]any) map[string]bool {
	out := map[string]bool{}
	ss, _ := st["shipsafe"].(map[string]any)
	if p, ok := ss["pendingCommands"].([]any); ok {
		for _, c := range p {
			if m, ok := c.(map[string]any); ok {
				if id, ok := m["id"].(string); ok {
					out[id] = true
				}
			}
		}
	}
	if p, ok := ss["processedCommands"].([]any); ok {
		for _, c := range p {
			if id, ok := c.(string); ok {
				out[id] = true
			}
		}
	}
	return out
}

// knownRevision: the stable revision or one of the earlier stable ones.
func knownRevision(st map[string]any, hash string) bool {
	if st["stableRS"] == hash {
		return true
	}
	ss, _ := st["shipsafe"].(map[string]any)
	hist, _ := ss["stableHistory"].([]any)
	return slices.Contains(hist, any(hash))
}
