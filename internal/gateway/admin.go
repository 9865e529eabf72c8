package gateway

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"sigs.k8s.io/yaml"
)

// newAdminHandler builds the net/http handler for the gateway's own endpoints.
func (g *Gateway) newAdminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(g.cfg.FeedbackPath, g.serveFeedback)
	mux.Handle(g.cfg.MetricsPath, promhttp.HandlerFor(g.met.registry, promhttp.HandlerOpts{}))
	mux.HandleFunc(g.cfg.AdminPath, g.serveAdminRoutes)
	return mux
}

// serveAdminRoutes: GET returns the served table as JSON; PUT/POST replaces it (JSON or
// YAML body). Both need "Authorization: Bearer <Config.AdminToken>".
func (g *Gateway) serveAdminRoutes(w http.ResponseWriter, r *http.Request) {
	if g.cfg.AdminToken == "" {
		http.Error(w, "admin API disabled: no admin token configured", http.StatusForbidden)
		return
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || subtle.ConstantTimeCompare([]byte(tok), []byte(g.cfg.AdminToken)) != 1 {
		w.Header().Set("WWW-Authenticate", `Bearer realm="shipsafe-gateway"`)
		http.Error(w, "admin API: missing or wrong bearer token", http.StatusUnauthorized)
		return
	}
	switch r.Method {
	case http.MethodGet:
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(g.Routes())
	case http.MethodPut, http.MethodPost:
		body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
		if err != nil {
			http.Error(w, "admin API: read body: "+err.Error(), http.StatusBadRequest)
			return
		}
		t, err := ParseRouteTable(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if err := g.SetRoutes(t); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		g.log.Info("route table replaced via admin API", "services", len(t.Services))
		w.WriteHeader(http.StatusNoContent)
	default:
		w.Header().Set("Allow", "GET, PUT, POST")
		http.Error(w, "admin API: use GET or PUT", http.StatusMethodNotAllowed)
	}
}

// ParseRouteTable reads a route table from YAML or JSON, rejecting unknown fields.
// It does not validate; SetRoutes does.
func ParseRouteTable(b []byte) (RouteTable, error) {
	var t RouteTable
	if err := yaml.UnmarshalStrict(b, &t); err != nil {
		return RouteTable{}, fmt.Errorf("parse route table: %w", err)
	}
	return t, nil
}
