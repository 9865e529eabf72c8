package gateway

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// maxFeedbackBody bounds one POST /v1/feedback body; larger ones get 413.
const maxFeedbackBody = 4 << 20

// FeedbackToken derives the bearer token that lets its holder post ground-truth labels for
// one service's requests: hex(HMAC-SHA256(key, "shipsafe-feedback-v1/service/" + service)),
// with key = Config.FeedbackKey. service "" gives a token for every service. The gateway
// keeps no token list: it derives the same values from its key.
func FeedbackToken(key, service string) string {
	scope := "all"
	if service != "" {
		scope = "service/" + service
	}
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte("shipsafe-feedback-v1/" + scope))
	return hex.EncodeToString(m.Sum(nil))
}

// feedbackTokens maps sha256(token) to the service the token labels ("" for all), for the
// services of one route table. Lookups go by digest, so timing reveals nothing of a token.
type feedbackTokens map[[32]byte]string

func newFeedbackTokens(key string, t RouteTable) feedbackTokens {
	if key == "" {
		return nil
	}
	ft := feedbackTokens{sha256.Sum256([]byte(FeedbackToken(key, ""))): ""}
	for name := range t.Services {
		ft[sha256.Sum256([]byte(FeedbackToken(key, name)))] = name
	}
	return ft
}

// feedbackRequest is the body of POST /v1/feedback. A JSON array of them is accepted too.
type feedbackRequest struct {
	ID string `json:"id"`
	// Index is the item of a batched request (0, the default, for the first or only one).
	Index int    `json:"index,omitempty"`
	Label *int64 `json:"label"`
}

// FeedbackResponse reports what happened to each label, in order.
type FeedbackResponse struct {
	Results []string `json:"results"`
}

// serveFeedback joins ground-truth labels. It needs a feedback token (which names the
// service whose ids it may label) and a JSON body; it answers 202 with a result per label,
// or 409 when any label conflicted with one already joined.
func (g *Gateway) serveFeedback(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "feedback: use POST", http.StatusMethodNotAllowed)
		return
	}
	if g.cfg.FeedbackKey == "" {
		http.Error(w, "feedback: disabled (the gateway has no feedback key)", http.StatusForbidden)
		return
	}
	service, ok := g.feedbackScope(r)
	if !ok {
		g.rec.feedbackUnauthorized.Add(1)
		g.met.feedback.WithLabelValues("unauthorized").Inc()
		w.Header().Set("WWW-Authenticate", `Bearer realm="shipsafe-feedback"`)
		http.Error(w, "feedback: missing or wrong bearer token (a service's feedback token)", http.StatusUnauthorized)
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		http.Error(w, "feedback: Content-Type must be application/json", http.StatusUnsupportedMediaType)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxFeedbackBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			http.Error(w, fmt.Sprintf("feedback: body over %d bytes; send fewer labels per request", maxFeedbackBody), http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "feedback: read body: "+err.Error(), http.StatusBadRequest)
		return
	}
	items, err := parseFeedback(body)
	if err != nil {
		g.rec.feedbackInvalid.Add(1)
		g.met.feedback.WithLabelValues("invalid").Inc()
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	resp := FeedbackResponse{Results: make([]string, 0, len(items))}
	code := http.StatusAccepted
	for _, it := range items {
		res, served, pred := g.preds.label(service, it.ID, it.Index, *it.Label)
		if res == feedbackConflict {
			code = http.StatusConflict
		}
		if res == feedbackJoined && served != nil && pred.hasLabel {
			g.met.labels.WithLabelValues(served.key.service, served.key.revision,
				strconv.FormatInt(*it.Label, 10), strconv.FormatInt(pred.label, 10)).Inc()
		}
		resp.Results = append(resp.Results, g.countFeedback(res))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(resp)
}

// feedbackScope returns the service the request's bearer token may label ("" for all).
func (g *Gateway) feedbackScope(r *http.Request) (string, bool) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || tok == "" {
		return "", false
	}
	service, ok := g.table.Load().feedback[sha256.Sum256([]byte(tok))]
	return service, ok
}

func parseFeedback(body []byte) ([]feedbackRequest, error) {
	var items []feedbackRequest
	var err error
	if trimmed := strings.TrimSpace(string(body)); strings.HasPrefix(trimmed, "[") {
		err = json.Unmarshal(body, &items)
	} else {
		var one feedbackRequest
		err = json.Unmarshal(body, &one)
		items = []feedbackRequest{one}
	}
	if err != nil {
		return nil, fmt.Errorf(`feedback: body must be {"id": "...", "label": 0|1} or an array of those: %w`, err)
	}
	for i, it := range items {
		if it.ID == "" || it.Label == nil || (*it.Label != 0 && *it.Label != 1) || it.Index < 0 || it.Index >= maxBatchItems {
			return nil, fmt.Errorf("feedback[%d]: id must be non-empty, label 0 or 1 and index in [0, %d)", i, maxBatchItems)
		}
	}
	return items, nil
}

func (g *Gateway) countFeedback(res feedbackResult) string {
	g.rec.feedbackResults[res].Add(1)
	name := res.String()
	g.met.feedback.WithLabelValues(name).Inc()
	return name
}
