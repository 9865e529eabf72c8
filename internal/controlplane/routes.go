package controlplane

import (
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/shipsafe/shipsafe/api/v1alpha1"
	"github.com/shipsafe/shipsafe/internal/gateway"
	"github.com/shipsafe/shipsafe/internal/platform"
	"github.com/shipsafe/shipsafe/internal/rollout"
	"github.com/shipsafe/shipsafe/models"
)

// PreviewSuffix names a blue-green rollout's preview service when previewService is not
// set: "<rollout>--preview".
const PreviewSuffix = "--preview"

// mainService is the gateway service clients call, named as Argo names the Service that
// carries a rollout's traffic: blue-green's activeService, a traffic-routed canary's
// stableService, else the rollout's name. It is reachable at /svc/<name>/...; the analysis
// of the rollout reads the gateway's records under this name.
func mainService(ro *v1alpha1.Rollout) string {
	switch s := ro.Spec.Strategy; {
	case s.BlueGreen != nil && s.BlueGreen.ActiveService != "":
		return s.BlueGreen.ActiveService
	case s.Canary != nil && s.Canary.StableService != "":
		return s.Canary.StableService
	}
	return ro.Name
}

// previewService names the blue-green preview.
func previewService(ro *v1alpha1.Rollout) string {
	if bg := ro.Spec.Strategy.BlueGreen; bg != nil && bg.PreviewService != "" {
		return bg.PreviewService
	}
	return ro.Name + PreviewSuffix
}

// services turns the engine's traffic plan into the rollout's gateway services: the main
// service "<rollout>" (reachable at /svc/<rollout>/...) and, for blue-green, the preview.
// Only READY replicas are listed as endpoints, and a revision without any is left out, so
// the gateway never sends a request to something that is not ready.
func gatewayServices(l *loaded, t rollout.Traffic, states []platform.RevisionState) map[string]gateway.Service {
	endpoints := map[string][]gateway.Endpoint{}
	for _, s := range states {
		for _, e := range s.Endpoints {
			endpoints[s.Name] = append(endpoints[s.Name], gateway.Endpoint{Address: e})
		}
	}
	base := gateway.Service{
		Idempotent: true,
		Limits:     gateway.Limits{Timeout: gateway.Duration(30 * time.Second)},
		Sticky:     stickyOf(l),
	}
	main := base
	for _, w := range t.Weights {
		if len(endpoints[w.Hash]) == 0 {
			continue
		}
		main.Revisions = append(main.Revisions, gateway.Revision{Name: w.Hash, Weight: int(w.Weight), Endpoints: endpoints[w.Hash]})
	}
	// Header-routed and mirrored revisions need endpoints even at weight 0.
	addRev := func(hash string) bool {
		if len(endpoints[hash]) == 0 {
			return false
		}
		if !slices.ContainsFunc(main.Revisions, func(r gateway.Revision) bool { return r.Name == hash }) {
			main.Revisions = append(main.Revisions, gateway.Revision{Name: hash, Endpoints: endpoints[hash]})
		}
		return true
	}
	for _, hr := range t.HeaderRoutes {
		if !addRev(hr.Revision) {
			continue
		}
		for _, m := range hr.Match {
			main.HeaderRoutes = append(main.HeaderRoutes, gateway.HeaderRoute{
				Header: m.HeaderName, Exact: m.HeaderValue.Exact, Prefix: m.HeaderValue.Prefix, Regex: m.HeaderValue.Regex, Revision: hr.Revision,
			})
			break // the gateway matches one header per route; the first one decides
		}
	}
	for _, m := range t.Mirrors {
		if m.Percentage > 0 && addRev(m.Revision) {
			main.Mirror = &gateway.Mirror{Revision: m.Revision, Percent: float64(m.Percentage)}
			break
		}
	}
	main.Select = flagSelect(l, addRev)
	out := map[string]gateway.Service{}
	if len(main.Revisions) > 0 {
		out[mainService(l.rollout)] = main
	}
	only := func(name, hash string) {
		if hash != "" && len(endpoints[hash]) > 0 {
			s := base
			s.Revisions = []gateway.Revision{{Name: hash, Weight: 100, Endpoints: endpoints[hash]}}
			out[name] = s
		}
	}
	only(previewService(l.rollout), t.Preview)
	// A canary's canaryService reaches only the canary, as Argo's Service selects its pods.
	if c := l.rollout.Spec.Strategy.Canary; c != nil && c.CanaryService != "" && c.CanaryService != mainService(l.rollout) {
		if cur := l.rec.Engine.CurrentPodHash; cur != l.rec.Engine.StableRS {
			only(c.CanaryService, cur)
		}
	}
	return out
}

// stickyOf reads the shipsafe.dev/sticky-header annotation: requests with the same value
// of that header (a patient or study id) stay on the same revision as weights move.
func stickyOf(l *loaded) *gateway.Sticky {
	if h := l.rollout.Annotations["shipsafe.dev/sticky-header"]; h != "" {
		return &gateway.Sticky{Header: h}
	}
	return nil
}

// modelDigest names the model a template serves for the audit log and history: the
// --model argument and, for the detector's embedded versions, the artifact's SHA-256 that the
// server verifies at load ("v2@sha256:<hex>").
func modelDigest(t corev1.PodTemplateSpec) string {
	name := modelOf(t)
	if _, sha, err := models.Open(name); err == nil {
		return name + "@sha256:" + sha
	}
	return name
}

// modelOf reads the model a detector template serves (the --model argument), for display.
func modelOf(t corev1.PodTemplateSpec) string {
	if len(t.Spec.Containers) == 0 {
		return ""
	}
	c := t.Spec.Containers[0]
	args := append(append([]string{}, c.Command...), c.Args...)
	for i, a := range args {
		if a == "--model" && i+1 < len(args) {
			return args[i+1]
		}
		if v, ok := strings.CutPrefix(a, "--model="); ok {
			return v
		}
	}
	return c.Image
}

// Annotations that let a feature flag pick the model per request (the seed's model
// selector): the flag's variants "canary" (or "experimental"), "stable" and "fallback"
// name the revision being rolled out, the stable one and the one before it. A variant
// whose revision has no ready replica falls back along canary → stable → fallback.
const (
	AnnotationSelectFlag   = "shipsafe.dev/select-flag"
	AnnotationSelectHeader = "shipsafe.dev/select-targeting-header"
)

func flagSelect(l *loaded, addRev func(string) bool) *gateway.FlagSelect {
	flag := l.rollout.Annotations[AnnotationSelectFlag]
	if flag == "" {
		return nil
	}
	st := l.rec.Engine
	sel := &gateway.FlagSelect{Flag: flag, TargetingKeyHeader: l.rollout.Annotations[AnnotationSelectHeader], Variants: map[string]string{}}
	if sel.TargetingKeyHeader == "" {
		sel.TargetingKeyHeader = "x-user-id"
	}
	previous := ""
	if len(st.History) > 0 {
		previous = st.History[len(st.History)-1]
	}
	for _, v := range []struct{ variant, hash string }{
		{"canary", st.CurrentPodHash}, {"experimental", st.CurrentPodHash}, {"stable", st.StableRS}, {"fallback", previous},
	} {
		if v.hash != "" && addRev(v.hash) {
			sel.Variants[v.variant] = v.hash
		}
	}
	for _, variant := range []string{"stable", "fallback"} {
		if h, ok := sel.Variants[variant]; ok && !slices.Contains(sel.Fallback, h) {
			sel.Fallback = append(sel.Fallback, h)
		}
	}
	if len(sel.Variants) == 0 {
		return nil
	}
	return sel
}
