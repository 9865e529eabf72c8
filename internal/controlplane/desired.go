package controlplane

import (
	"time"

	"github.com/shipsafe/shipsafe/api/v1alpha1"
	"github.com/shipsafe/shipsafe/internal/platform"
	"github.com/shipsafe/shipsafe/internal/rollout"
	"github.com/shipsafe/shipsafe/internal/traffic"
)

// PreviewSuffix names a blue-green rollout's preview service when previewService is not
// set: "<rollout>--preview".
const PreviewSuffix = "--preview"

// Annotations on a Rollout that set how its service's requests are handled and routed.
const (
	// AnnotationStickyHeader: requests with the same value of this header (a patient or
	// study id) stay on the same revision as weights move.
	AnnotationStickyHeader = "shipsafe.dev/sticky-header"
	// AnnotationSelectFlag lets a feature flag pick the model per request (the seed's model
	// selector): the flag's variants "canary" (or "experimental"), "stable" and "fallback"
	// name the revision being rolled out, the stable one and the one before it. A variant
	// whose revision has no ready replica falls back along stable → fallback.
	AnnotationSelectFlag = "shipsafe.dev/select-flag"
	// AnnotationSelectHeader is the request header holding the flag's targeting key
	// (default DefaultTargetingHeader).
	AnnotationSelectHeader = "shipsafe.dev/select-targeting-header"
	// AnnotationIdempotent: "false" stops retries of the service's requests on another
	// replica after a connection failure (default true: inference is idempotent).
	AnnotationIdempotent = "shipsafe.dev/idempotent"
	// AnnotationRequestTimeout bounds one request's upstream exchange, e.g. "30s"
	// (default DefaultRequestTimeout).
	AnnotationRequestTimeout = "shipsafe.dev/request-timeout"
)

// Defaults of the per-service settings.
const (
	DefaultTargetingHeader = "x-user-id"
	DefaultRequestTimeout  = 30 * time.Second
)

// mainService is the service clients call, named as Argo names the Service that carries a
// rollout's traffic: blue-green's activeService, a traffic-routed canary's stableService,
// else the rollout's name. The analysis of the rollout reads the data plane's records under
// this name.
func mainService(ro *v1alpha1.Rollout) string {
	switch s := ro.Spec.Strategy; {
	case s.BlueGreen != nil && s.BlueGreen.ActiveService != "":
		return s.BlueGreen.ActiveService
	case s.Canary != nil && s.Canary.StableService != "":
		return s.Canary.StableService
	}
	return ro.Name
}

// previewService names the blue-green preview ("" for other strategies).
func previewService(ro *v1alpha1.Rollout) string {
	bg := ro.Spec.Strategy.BlueGreen
	switch {
	case bg == nil:
		return ""
	case bg.PreviewService != "":
		return bg.PreviewService
	}
	return ro.Name + PreviewSuffix
}

// desiredTraffic turns the engine's traffic plan into the rollout's desired routing, with
// the ready endpoints of each revision as backends.
func desiredTraffic(l *loaded, t rollout.Traffic, states []platform.RevisionState) traffic.Desired {
	ro := l.rollout
	d := traffic.Desired{
		Services:     traffic.Services{Main: mainService(ro), Preview: previewService(ro)},
		Traffic:      t,
		Backends:     map[string][]string{},
		StickyHeader: ro.Annotations[AnnotationStickyHeader],
		Settings:     settingsOf(ro),
		Select:       selectionOf(l),
	}
	for _, s := range states {
		if len(s.Endpoints) > 0 {
			d.Backends[s.Name] = s.Endpoints
		}
	}
	// A canary's canaryService reaches only the canary, as Argo's Service selects its pods.
	if c := ro.Spec.Strategy.Canary; c != nil && c.CanaryService != "" {
		d.Services.Canary = c.CanaryService
		if cur := l.rec.Engine.CurrentPodHash; cur != l.rec.Engine.StableRS {
			d.CanaryRevision = cur
		}
	}
	return d
}

// settingsOf reads the per-service settings from the rollout's annotations; a value that
// does not parse keeps the default (validation reports it at apply).
func settingsOf(ro *v1alpha1.Rollout) traffic.Settings {
	s := traffic.Settings{Idempotent: ro.Annotations[AnnotationIdempotent] != "false", Timeout: DefaultRequestTimeout}
	if v := ro.Annotations[AnnotationRequestTimeout]; v != "" {
		if d, err := time.ParseDuration(v); err == nil && d > 0 {
			s.Timeout = d
		}
	}
	return s
}

// selectionOf maps the select flag's variants to the rollout's revisions.
func selectionOf(l *loaded) *traffic.Selection {
	flag := l.rollout.Annotations[AnnotationSelectFlag]
	if flag == "" {
		return nil
	}
	st := l.rec.Engine
	sel := &traffic.Selection{Flag: flag, TargetingKeyHeader: l.rollout.Annotations[AnnotationSelectHeader], Variants: map[string]string{}}
	if sel.TargetingKeyHeader == "" {
		sel.TargetingKeyHeader = DefaultTargetingHeader
	}
	previous := ""
	if len(st.History) > 0 {
		previous = st.History[len(st.History)-1]
	}
	for variant, hash := range map[string]string{"canary": st.CurrentPodHash, "experimental": st.CurrentPodHash, "stable": st.StableRS, "fallback": previous} {
		if hash != "" {
			sel.Variants[variant] = hash
		}
	}
	for _, h := range []string{st.StableRS, previous} {
		if h != "" {
			sel.Fallback = append(sel.Fallback, h)
		}
	}
	return sel
}
