package flags

import (
	"crypto/subtle"
	"encoding/json"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// HandlerOptions configure NewHandler.
type HandlerOptions struct {
	Store *Store
	// APIKeys, when non-empty, are required to evaluate flags (OFREP): sent as
	// "Authorization: Bearer KEY" or "X-API-Key: KEY". Empty: evaluation is open.
	APIKeys []string
	// AdminTokens maps a token to the actor name recorded in the audit log. The change API
	// and the event stream require one of them; with none configured the change API answers
	// 403 for every request.
	AdminTokens map[string]string
	// RatePerSecond limits OFREP evaluation requests (token bucket, burst = one second's
	// worth); over the limit requests get 429 with Retry-After. 0 disables the limit.
	RatePerSecond float64
	Logger        *slog.Logger
	Now           func() time.Time // default time.Now
	// EventsURL is advertised to OFREP clients as the SSE refresh connection (default
	// "/ofrep/v1/events", relative to where the handler is mounted).
	EventsURL string
}

// NewHandler serves, for mounting at the root of a server (or inside `shipsafe up`):
//
//	POST /ofrep/v1/evaluate/flags/{key}   OFREP single evaluation
//	POST /ofrep/v1/evaluate/flags         OFREP bulk evaluation (ETag / If-None-Match → 304)
//	GET  /ofrep/v1/configuration          OFREP provider configuration
//	GET  /ofrep/v1/events                 SSE change events (OFREP refetchEvaluation)
//	GET  /api/v1/flags                    the serving definitions document (+ version, last error)
//	PUT  /api/v1/flags                    replace the whole document      (admin token)
//	PUT  /api/v1/flags/{key}              add or replace one flag         (admin token)
//	DELETE /api/v1/flags/{key}            remove one flag                 (admin token)
func NewHandler(o HandlerOptions) http.Handler {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.EventsURL == "" {
		o.EventsURL = "/ofrep/v1/events"
	}
	h := &handler{opts: o}
	if o.RatePerSecond > 0 {
		h.limiter = &tokenBucket{rate: o.RatePerSecond, burst: math.Max(1, o.RatePerSecond), now: o.Now}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /ofrep/v1/evaluate/flags/{key}", h.readAuth(h.limit(h.evaluateOne)))
	mux.HandleFunc("POST /ofrep/v1/evaluate/flags", h.readAuth(h.limit(h.evaluateBulk)))
	mux.HandleFunc("GET /ofrep/v1/configuration", h.readAuth(h.configuration))
	mux.HandleFunc("GET /ofrep/v1/events", h.readAuth(h.events))
	mux.HandleFunc("GET /api/v1/flags", h.adminAuth(h.getDocument))
	mux.HandleFunc("PUT /api/v1/flags", h.adminAuth(h.putDocument))
	mux.HandleFunc("PUT /api/v1/flags/{key}", h.adminAuth(h.putFlag))
	mux.HandleFunc("DELETE /api/v1/flags/{key}", h.adminAuth(h.deleteFlag))
	return mux
}

type handler struct {
	opts    HandlerOptions
	limiter *tokenBucket
}

type ctxKeyActor struct{}

// credential returns the bearer token or X-API-Key of a request ("" if none).
func credential(r *http.Request) string {
	if a := r.Header.Get("Authorization"); a != "" {
		if tok, ok := strings.CutPrefix(a, "Bearer "); ok {
			return strings.TrimSpace(tok)
		}
		return ""
	}
	return r.Header.Get("X-API-Key")
}

func oneOf(cred string, keys []string) bool {
	ok := false
	for _, k := range keys {
		if subtle.ConstantTimeCompare([]byte(cred), []byte(k)) == 1 {
			ok = true
		}
	}
	return ok
}

// readAuth enforces the OFREP API keys: 401 without credentials, 403 with wrong ones.
// Admin tokens are accepted too.
func (h *handler) readAuth(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if len(h.opts.APIKeys) == 0 {
			next(w, r)
			return
		}
		cred := credential(r)
		if cred == "" {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"errorDetails": "credentials required: Authorization: Bearer <key> or X-API-Key"})
			return
		}
		if !oneOf(cred, h.opts.APIKeys) && h.actorFor(cred) == "" {
			writeJSON(w, http.StatusForbidden, map[string]string{"errorDetails": "the credentials are not valid for this API"})
			return
		}
		next(w, r)
	}
}

func (h *handler) actorFor(cred string) string {
	actor := ""
	for tok, name := range h.opts.AdminTokens {
		if subtle.ConstantTimeCompare([]byte(cred), []byte(tok)) == 1 {
			actor = name
		}
	}
	return actor
}

// adminAuth requires an admin token and passes the actor on.
func (h *handler) adminAuth(next func(w http.ResponseWriter, r *http.Request, actor string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if len(h.opts.AdminTokens) == 0 {
			writeJSON(w, http.StatusForbidden, map[string]string{"errorDetails": "the flag change API is disabled: no admin tokens are configured"})
			return
		}
		cred := credential(r)
		if cred == "" {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"errorDetails": "admin credentials required: Authorization: Bearer <token>"})
			return
		}
		actor := h.actorFor(cred)
		if actor == "" {
			writeJSON(w, http.StatusForbidden, map[string]string{"errorDetails": "the token is not an admin token"})
			return
		}
		next(w, r, actor)
	}
}

func (h *handler) limit(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if h.limiter != nil {
			if wait, ok := h.limiter.take(); !ok {
				retry := h.opts.Now().Add(wait).UTC()
				w.Header().Set("Retry-After", retry.Format(time.RFC3339))
				writeJSON(w, http.StatusTooManyRequests, map[string]string{"errorDetails": "rate limit reached; retry after " + retry.Format(time.RFC3339)})
				return
			}
		}
		next(w, r)
	}
}

// tokenBucket is a small rate limiter with an injectable clock.
type tokenBucket struct {
	mu     sync.Mutex
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
	now    func() time.Time
}

func (b *tokenBucket) take() (time.Duration, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	if b.last.IsZero() {
		b.tokens = b.burst
	} else {
		b.tokens = math.Min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	}
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return 0, true
	}
	return time.Duration((1 - b.tokens) / b.rate * float64(time.Second)), false
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

func writeBytes(w http.ResponseWriter, status int, etag string, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	if etag != "" {
		w.Header().Set("ETag", etag)
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// etagMatches implements If-None-Match (a list of tags, or *).
func etagMatches(header, etag string) bool {
	if header == "" {
		return false
	}
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}
