package dataplane

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/shipsafe/shipsafe/internal/flags"
	"github.com/shipsafe/shipsafe/internal/gateway"
)

// Options configure a data plane process.
type Options struct {
	// DataDir holds the state file and the admin token file.
	DataDir string
	// Listen is the client traffic address (default 127.0.0.1:8080; port 0 picks one).
	Listen string
	// AdminListen is the admin API address (default 127.0.0.1:0).
	AdminListen string
	// Token authorises every admin call.
	Token string
	// FlagsFile, when set, is watched for feature flags; the gateway then selects models by
	// them (services with a `select` block).
	FlagsFile string
}

// Run serves the gateway and the admin API until ctx is cancelled, then drains.
func Run(ctx context.Context, opts Options, log *slog.Logger) error {
	if opts.Token == "" {
		return errors.New("dataplane: an admin token is required")
	}
	if opts.Listen == "" {
		opts.Listen = "127.0.0.1:8080"
	}
	if opts.AdminListen == "" {
		opts.AdminListen = "127.0.0.1:0"
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", opts.Listen)
	if err != nil {
		return fmt.Errorf("dataplane: listen %s: %w", opts.Listen, err)
	}
	adminLn, err := lc.Listen(ctx, "tcp", opts.AdminListen)
	if err != nil {
		ln.Close()
		return fmt.Errorf("dataplane: admin listen %s: %w", opts.AdminListen, err)
	}
	var selector gateway.VariantSelector
	if opts.FlagsFile != "" {
		fs := flags.NewStore(flags.StoreOptions{Logger: log})
		if _, err := flags.LoadFile(ctx, fs, opts.FlagsFile); err != nil {
			log.Warn("feature flags not loaded; flag-based selection is off until the file is valid", "file", opts.FlagsFile, "err", err)
		}
		go func() {
			if err := flags.WatchFile(ctx, fs, opts.FlagsFile, nil); err != nil && ctx.Err() == nil {
				log.Warn("watch feature flags", "file", opts.FlagsFile, "err", err)
			}
		}()
		selector = flags.Selector{Store: fs}
	}
	// Labels need a per-service feedback token derived from the data plane token.
	gw := gateway.New(gateway.Config{Selector: selector, FeedbackKey: opts.Token}, log)
	admin := &http.Server{Handler: newAdminMux(gw, opts.Token), ReadHeaderTimeout: 5 * time.Second}

	st := State{PID: os.Getpid(), Listen: ln.Addr().String(), Admin: adminLn.Addr().String()}
	if err := writeState(opts.DataDir, st); err != nil {
		ln.Close()
		adminLn.Close()
		return err
	}
	log.Info("data plane serving", "listen", st.Listen, "admin", st.Admin, "pid", st.PID)

	adminErr := make(chan error, 1)
	go func() { adminErr <- admin.Serve(adminLn) }()
	err = gw.Serve(ctx, ln)
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = admin.Shutdown(sctx)
	if aerr := <-adminErr; aerr != nil && !errors.Is(aerr, http.ErrServerClosed) && err == nil {
		err = aerr
	}
	// Remove the state file only if it still describes this process.
	if cur, rerr := ReadState(opts.DataDir); rerr == nil && cur.PID == st.PID {
		_ = os.Remove(filepath.Join(opts.DataDir, StateFile))
	}
	return err
}

// newAdminMux serves the admin API: PUT/GET /routes, GET /snapshot, GET /healthz.
func newAdminMux(gw *gateway.Gateway, token string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"ok": true, "pid": os.Getpid()})
	})
	mux.HandleFunc("GET /routes", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, gw.Routes())
	})
	mux.HandleFunc("PUT /routes", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "read body: " + err.Error()})
			return
		}
		var t gateway.RouteTable
		if err := json.Unmarshal(body, &t); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "route table: " + err.Error()})
			return
		}
		if err := gw.SetRoutes(t); err != nil {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"error": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	})
	mux.HandleFunc("GET /snapshot", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		svc, rev := q.Get("service"), q.Get("revision")
		if svc == "" || rev == "" {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "service and revision are required"})
			return
		}
		sinceMs, err := strconv.ParseInt(q.Get("since"), 10, 64)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "since: must be unix milliseconds, got " + strconv.Quote(q.Get("since"))})
			return
		}
		writeJSON(w, http.StatusOK, gw.Recorder().Snapshot(svc, rev, time.UnixMilli(sinceMs)))
	})
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" && subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "admin API: missing or wrong bearer token"})
			return
		}
		mux.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
