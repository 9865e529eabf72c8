// Package server is shipsafe's HTTP API: REST/JSON for apply, get, list, commands, history
// and analysis runs, and a live event stream (SSE). Every mutating route requires the bearer
// token; reads are open on the loopback listener.
package server

import (
	"cmp"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/shipsafe/shipsafe/internal/apiservice"
	"github.com/shipsafe/shipsafe/internal/store"
)

// MaxManifestBytes caps an apply body (the decoder caps documents again).
const MaxManifestBytes = 4 << 20

// Backend is what the API serves; internal/apiservice implements it. Its errors are the
// domain errors of apiservice, mapped to status codes by fail.
type Backend interface {
	Apply(ctx context.Context, actor string, manifest []byte) (apiservice.ApplyResult, error)
	List(ctx context.Context) ([]apiservice.RolloutView, error)
	Get(ctx context.Context, name string) (apiservice.RolloutView, error)
	Delete(ctx context.Context, actor, name string) error
	Command(ctx context.Context, actor, name string, cmd apiservice.Command) error
	History(ctx context.Context, name string) ([]store.HistoryEntry, error)
	AnalysisRuns(ctx context.Context, name string) ([]apiservice.AnalysisRunView, error)
	// Events returns events with id > after (for rollout, or all when empty), oldest first.
	Events(ctx context.Context, rollout string, after int64, limit int) ([]apiservice.Event, error)
}

// commandQueuer is a Backend that also says where a command's outcome will appear in the
// event stream (apiservice.Service is one), so the CLI can wait for the engine's verdict.
type commandQueuer interface {
	QueueCommand(ctx context.Context, actor, name string, cmd apiservice.Command) (apiservice.CommandReceipt, error)
}

// Server is the API.
type Server struct {
	backend Backend
	token   string
	log     *slog.Logger
	// PollInterval is how often the event stream looks for new events.
	pollInterval time.Duration
	// bodyTimeout bounds reading one request body (default 30s).
	bodyTimeout time.Duration
	// allowedHosts are Host names accepted besides IP addresses and localhost.
	allowedHosts []string
	// mounts are handlers served beside the API (OFREP, the flag API) behind the same Host
	// check and body timeout.
	mounts []mount
}

type mount struct {
	pattern string
	h       http.Handler
}

// Mount serves h at pattern on the API's listener, behind the API's Host check and body
// timeout (h does its own authorisation). Call it before Handler.
func (s *Server) Mount(pattern string, h http.Handler) {
	s.mounts = append(s.mounts, mount{pattern, h})
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
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.HandleFunc("GET /api/v1/rollouts", s.list)
	mux.HandleFunc("GET /api/v1/rollouts/{name}", s.get)
	mux.HandleFunc("GET /api/v1/rollouts/{name}/history", s.history)
	mux.HandleFunc("GET /api/v1/rollouts/{name}/analysisruns", s.analysisRuns)
	mux.HandleFunc("GET /api/v1/events", s.eventsOrList)
	mux.Handle("POST /api/v1/apply", s.auth(http.HandlerFunc(s.apply)))
	mux.Handle("DELETE /api/v1/rollouts/{name}", s.auth(http.HandlerFunc(s.delete)))
	for _, kind := range []string{"promote", "abort", "retry", "undo", "pause", "resume"} {
		mux.Handle("POST /api/v1/rollouts/{name}/"+kind, s.auth(s.command(kind)))
	}
	for _, m := range s.mounts {
		mux.Handle(m.pattern, m.h)
	}
	return s.checkHost(s.boundBody(mux))
}

// auth refuses requests without the bearer token.
func (s *Server) auth(next http.Handler) http.Handler {
	want := []byte("Bearer " + s.token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="shipsafe"`)
			// Answer now and close: net/http would otherwise read the unread body first,
			// letting a trickled body hold the connection before its 401.
			w.Header().Set("Connection", "close")
			writeError(w, http.StatusUnauthorized, errors.New("this route changes state: send Authorization: Bearer <token> (the token is in the data dir's token file)"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// actor names who made a change, for the audit log. It comes from the credential that
// auth checked (the API has one token), never from anything the caller chooses.
func actor(*http.Request) string { return "token" }

func (s *Server) apply(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxManifestBytes+1))
	if err != nil {
		readFailure(w, err)
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
		cmd := apiservice.Command{Kind: kind, Revision: r.URL.Query().Get("revision")}
		if kind == "promote" && r.URL.Query().Get("full") == "true" {
			cmd.Kind = "promote-full"
		}
		q, ok := s.backend.(commandQueuer)
		if !ok {
			if err := s.backend.Command(r.Context(), actor(r), r.PathValue("name"), cmd); err != nil {
				s.fail(w, err)
				return
			}
			writeJSON(w, http.StatusAccepted, map[string]string{"accepted": cmd.Kind})
			return
		}
		rc, err := q.QueueCommand(r.Context(), actor(r), r.PathValue("name"), cmd)
		if err != nil {
			s.fail(w, err)
			return
		}
		writeJSON(w, http.StatusAccepted, map[string]any{"accepted": cmd.Kind, "id": rc.ID, "eventsAfter": rc.EventsAfter})
	})
}

// eventsOrList streams events (SSE), or with ?follow=false answers the events after
// ?after (for ?rollout, at most ?limit, default and cap 1000) as one JSON list.
func (s *Server) eventsOrList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("follow") != "false" {
		s.events(w, r)
		return
	}
	after, err := strconv.ParseInt(cmp.Or(q.Get("after"), "0"), 10, 64)
	if err != nil || after < 0 {
		writeError(w, http.StatusBadRequest, fmt.Errorf("after %q: must be an event id (an integer >= 0)", q.Get("after")))
		return
	}
	limit, err := strconv.Atoi(cmp.Or(q.Get("limit"), "1000"))
	if err != nil || limit < 1 || limit > 1000 {
		writeError(w, http.StatusBadRequest, fmt.Errorf("limit %q: must be an integer from 1 to 1000", q.Get("limit")))
		return
	}
	evs, err := s.backend.Events(r.Context(), q.Get("rollout"), after, limit)
	if err != nil {
		s.fail(w, err)
		return
	}
	if evs == nil {
		evs = []apiservice.Event{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": evs})
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
	v, err := s.backend.Get(r.Context(), r.PathValue("name"))
	s.reply(w, v, err)
}

func (s *Server) history(w http.ResponseWriter, r *http.Request) {
	v, err := s.backend.History(r.Context(), r.PathValue("name"))
	s.reply(w, v, err)
}

func (s *Server) analysisRuns(w http.ResponseWriter, r *http.Request) {
	v, err := s.backend.AnalysisRuns(r.Context(), r.PathValue("name"))
	s.reply(w, v, err)
}

// reply writes a backend result as JSON, or its error.
func (s *Server) reply(w http.ResponseWriter, v any, err error) {
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// fail maps backend errors to status codes.
func (s *Server) fail(w http.ResponseWriter, err error) {
	var ve *apiservice.ValidationError
	var nf *apiservice.NotFoundError
	var br *apiservice.InvalidError
	var ce *apiservice.ConflictError
	switch {
	case errors.As(err, &ve):
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"error": ve.Error(), "errors": ve.Errors})
	case errors.As(err, &nf):
		writeError(w, http.StatusNotFound, err)
	case errors.As(err, &br):
		writeError(w, http.StatusBadRequest, err)
	case errors.As(err, &ce):
		writeError(w, http.StatusConflict, err)
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
	// No HTML escaping: conditions such as "result > 0.9" stay readable in the answers.
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}
