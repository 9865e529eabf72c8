package gateway

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
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

// feedbackRequest is the body of POST /v1/feedback. A JSON array of them is accepted too.
type feedbackRequest struct {
	ID    string `json:"id"`
	Label *int64 `json:"label"`
}

// FeedbackResponse reports what happened to each label, in order.
type FeedbackResponse struct {
	Results []string `json:"results"`
}

func (g *Gateway) serveFeedback(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "feedback: use POST", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil {
		http.Error(w, "feedback: read body: "+err.Error(), http.StatusBadRequest)
		return
	}
	var items []feedbackRequest
	trimmed := strings.TrimSpace(string(body))
	if strings.HasPrefix(trimmed, "[") {
		err = json.Unmarshal(body, &items)
	} else {
		var one feedbackRequest
		err = json.Unmarshal(body, &one)
		items = []feedbackRequest{one}
	}
	if err != nil {
		g.rec.feedbackInvalid.Add(1)
		g.met.feedback.WithLabelValues("invalid").Inc()
		http.Error(w, `feedback: body must be {"id": "...", "label": 0|1} or an array of those: `+err.Error(), http.StatusBadRequest)
		return
	}
	for i, it := range items {
		if it.ID == "" || it.Label == nil || (*it.Label != 0 && *it.Label != 1) {
			g.rec.feedbackInvalid.Add(1)
			g.met.feedback.WithLabelValues("invalid").Inc()
			http.Error(w, fmt.Sprintf("feedback[%d]: id must be non-empty and label must be 0 or 1", i), http.StatusBadRequest)
			return
		}
	}
	resp := FeedbackResponse{Results: make([]string, 0, len(items))}
	for _, it := range items {
		res, served, pred := g.preds.label(it.ID, *it.Label)
		name := g.countFeedback(res)
		if res == feedbackJoined && served != nil && pred.hasLabel {
			g.met.labels.WithLabelValues(served.key.service, served.key.revision,
				strconv.FormatInt(*it.Label, 10), strconv.FormatInt(pred.label, 10)).Inc()
		}
		resp.Results = append(resp.Results, name)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_ = json.NewEncoder(w).Encode(resp)
}

func (g *Gateway) countFeedback(res feedbackResult) string {
	var name string
	switch res {
	case feedbackJoined:
		name = "joined"
		g.rec.feedbackJoined.Add(1)
	case feedbackUnknown:
		name = "unknown"
		g.rec.feedbackUnknown.Add(1)
	case feedbackExpired:
		name = "expired"
		g.rec.feedbackExpired.Add(1)
	case feedbackDuplicate:
		name = "duplicate"
		g.rec.feedbackDuplicate.Add(1)
	}
	g.met.feedback.WithLabelValues(name).Inc()
	return name
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
