// Package server is shipsafe's HTTP API: REST/JSON for apply, get, list, commands, history
// and analysis runs, and a live event stream (SSE). Every mutating route requires the bearer
// token; reads are open on the loopback listener.
package server

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"
)

// MaxManifestBytes caps an apply body (the decoder caps documents again).
const MaxManifestBytes = 4 << 20

// Backend is what the API serves; the control plane implements it.
type Backend interface {
	Apply(ctx context.Context, actor string, manifest []byte) (ApplyResult, error)
	List(ctx context.Context) ([]json.RawMessage, error)
	Get(ctx context.Context, name string) (json.RawMessage, error)
	Delete(ctx context.Context, actor, name string) error
	Command(ctx context.Context, actor, name string, cmd Command) error
	History(ctx context.Context, name string) (json.RawMessage, error)
	AnalysisRuns(ctx context.Context, name string) (json.RawMessage, error)
	// Events returns events with id > after (for rollout, or all when empty), oldest first.
	Events(ctx context.Context, rollout string, after int64, limit int) ([]Event, error)
}

// Command is a user command on a rollout.
type Command struct {
	Kind     string `json:"kind"` // promote, promote-full, abort, retry, undo, pause, resume
	Revision string `json:"revision,omitempty"`
}

// ApplyResult lists what an apply created or changed.
type ApplyResult struct {
	Applied []string `json:"applied"`
}

// Event is one event in the stream.
type Event struct {
	ID      int64     `json:"id"`
	Rollout string    `json:"rollout"`
	Time    time.Time `json:"time"`
	Type    string    `json:"type"`
	Reason  string    `json:"reason"`
	Message string    `json:"message"`
}

// ValidationError is returned by Backend.Apply for input that is refused as a whole.
type ValidationError struct {
	Errors []string
}

func (e *ValidationError) Error() string {
	if len(e.Errors) == 1 {
		return e.Errors[0]
	}
	return strconv.Itoa(len(e.Errors)) + " validation errors"
}

// NotFoundError says a named object does not exist.
type NotFoundError struct{ What string }

func (e *NotFoundError) Error() string { return e.What + " not found" }

// BadRequestError is input the caller must fix (a command that does not apply, say).
type BadRequestError struct{ Msg string }

func (e *BadRequestError) Error() string { return e.Msg }

// Server is the API.
type Server struct {
	backend Backend
	token   string
	log     *slog.Logger
	// PollInterval is how often the event stream looks for new events.
	pollInterval time.Duration
}

// New returns an API server. token must not be empty.
func New(b Backend, token string, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{backend: b, token: token, log: log, pollInterval: 250 * time.Millisecond}
}

// MutatingRoutes lists every route that changes state (tests walk them without a token).
func MutatingRoutes() []string {
	return []string{
		"POST /api/v1/apply",
		"DELETE /api/v1/rollouts/{name}",
		"POST /api/v1/rollouts/{name}/promote",
		"POST /api/v1/rollouts/{name}/abort",
		"POST /api/v1/rollouts/{name}/retry",
		"POST /api/v1/rollouts/{name}/undo",
		"POST /api/v1/rollouts/{name}/pause",
		"POST /api/v1/rollouts/{name}/resume",
	}
}

// Handler returns the API's HTTP handler.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, 200, map[string]bool{"ok": true}) })
	mux.HandleFunc("GET /api/v1/rollouts", s.list)
	mux.HandleFunc("GET /api/v1/rollouts/{name}", s.get)
	mux.HandleFunc("GET /api/v1/rollouts/{name}/history", s.history)
	mux.HandleFunc("GET /api/v1/rollouts/{name}/analysisruns", s.analysisRuns)
	mux.HandleFunc("GET /api/v1/events", s.events)
	mux.Handle("POST /api/v1/apply", s.auth(http.HandlerFunc(s.apply)))
	mux.Handle("DELETE /api/v1/rollouts/{name}", s.auth(http.HandlerFunc(s.delete)))
	for _, kind := range []string{"promote", "abort", "retry", "undo", "pause", "resume"} {
		mux.Handle("POST /api/v1/rollouts/{name}/"+kind, s.auth(s.command(kind)))
	}
	return mux
}

// auth refuses requests without the bearer token.
func (s *Server) auth(next http.Handler) http.Handler {
	want := []byte("Bearer " + s.token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="shipsafe"`)
			writeError(w, http.StatusUnauthorized, errors.New("this route changes state: send Authorization: Bearer <token> (the token is in the data dir's token file)"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// actor names who made a change, for the audit log.
func actor(r *http.Request) string {
	if a := r.Header.Get("X-Shipsafe-Actor"); a != "" && len(a) <= 128 {
		return "token:" + a
	}
	return "token"
}

func (s *Server) apply(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxManifestBytes+1))
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	if len(body) > MaxManifestBytes {
		writeError(w, http.StatusRequestEntityTooLarge, errors.New("manifest: larger than 4 MiB"))
		return
	}
	res, err := s.backend.Apply(r.Context(), actor(r), body)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (s *Server) delete(w http.ResponseWriter, r *http.Request) {
	if err := s.backend.Delete(r.Context(), actor(r), r.PathValue("name")); err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"deleted": true})
}

func (s *Server) command(kind string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cmd := Command{Kind: kind, Revision: r.URL.Query().Get("revision")}
		if kind == "promote" && r.URL.Query().Get("full") == "true" {
			cmd.Kind = "promote-full"
		}
		if err := s.backend.Command(r.Context(), actor(r), r.PathValue("name"), cmd); err != nil {
			s.fail(w, err)
			return
		}
		writeJSON(w, http.StatusAccepted, map[string]string{"accepted": cmd.Kind})
	})
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	out, err := s.backend.List(r.Context())
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": out})
}

func (s *Server) get(w http.ResponseWriter, r *http.Request) {
	s.raw(w, func() (json.RawMessage, error) { return s.backend.Get(r.Context(), r.PathValue("name")) })
}

func (s *Server) history(w http.ResponseWriter, r *http.Request) {
	s.raw(w, func() (json.RawMessage, error) { return s.backend.History(r.Context(), r.PathValue("name")) })
}

func (s *Server) analysisRuns(w http.ResponseWriter, r *http.Request) {
	s.raw(w, func() (json.RawMessage, error) { return s.backend.AnalysisRuns(r.Context(), r.PathValue("name")) })
}

func (s *Server) raw(w http.ResponseWriter, f func() (json.RawMessage, error)) {
	out, err := f()
	if err != nil {
		s.fail(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out)
}

// fail maps backend errors to status codes.
func (s *Server) fail(w http.ResponseWriter, err error) {
	var ve *ValidationError
	var nf *NotFoundError
	var br *BadRequestError
	switch {
	case errors.As(err, &ve):
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"error": ve.Error(), "errors": ve.Errors})
	case errors.As(err, &nf):
		writeError(w, http.StatusNotFound, err)
	case errors.As(err, &br):
		writeError(w, http.StatusBadRequest, err)
	case errors.Is(err, context.Canceled):
		writeError(w, 499, err)
	default:
		s.log.Error("api request failed", "err", err)
		writeError(w, http.StatusInternalServerError, err)
	}
}

func writeError(w http.ResponseWriter, code int, err error) {
	writeJSON(w, code, map[string]string{"error": err.Error()})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
