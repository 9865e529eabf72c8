package server

import (
	"context"
	"net/http"
	"time"
)

// Check is one dependency's readiness, as GET /readyz reports it.
type Check struct {
	Name string `json:"name"`
	OK   bool   `json:"ok"`
	// Reason says why it is not ready.
	Reason string `json:"reason,omitempty"`
	// Since is when OK last changed (zero when unknown).
	Since time.Time `json:"since,omitzero"`
}

// ReadinessChecker is implemented by a Backend that depends on more than itself (the
// embedded runtime: its data plane). /healthz says the API answers; /readyz says whether
// what it manages works.
type ReadinessChecker interface {
	Readiness(ctx context.Context) []Check
}

// readyz answers 200 when every check passes and 503 with the failing reasons otherwise.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	rc, ok := s.backend.(ReadinessChecker)
	checks := []Check{}
	if ok {
		checks = rc.Readiness(r.Context())
	}
	ready := true
	var reasons []string
	for _, c := range checks {
		if !c.OK {
			ready = false
			reasons = append(reasons, c.Name+": "+c.Reason)
		}
	}
	code := http.StatusOK
	if !ready {
		code = http.StatusServiceUnavailable
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, code, map[string]any{"ready": ready, "checks": checks, "reasons": reasons})
}
