package dataplane

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/shipsafe/shipsafe/internal/flags"
	"github.com/shipsafe/shipsafe/internal/gateway"
)

// Options configure a data plane process.
type Options struct {
	// DataDir holds the state file and the admin token file.
	DataDir string
	// Listen is the client traffic address (default 127.0.0.1:8080; port 0 picks one), or
	// "fd:N" for a listening socket inherited as file descriptor N: the supervisor keeps
	// the socket open across restarts, so connections made while no data plane runs wait
	// in its backlog instead of being refused.
	Listen string
	// AdminListen is the admin API address (default 127.0.0.1:0).
	AdminListen string
	// Token authorises every admin call.
	Token string
	// FlagsFile, when set, is watched for feature flags; the gateway then selects models by
	// them (services with a `select` block).
	FlagsFile string
	// StandbyFD, when set (or given in StandbyEnv), makes this a warm standby: it builds
	// its gateway, then waits for one byte on that pipe before it restores routes and
	// serves. The supervisor keeps one ready, so a restart skips process start-up and the
	// gateway's allocation (about a second on a loaded machine). EOF means the standby
	// is not needed (its supervisor went away): it exits quietly.
	StandbyFD int
}

// StandbyEnv passes Options.StandbyFD to a data plane process.
const StandbyEnv = "SHIPSAFE_DATAPLANE_STANDBY_FD"

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
	if opts.StandbyFD == 0 {
		if v := os.Getenv(StandbyEnv); v != "" {
			fd, err := strconv.Atoi(v)
			if err != nil || fd < 3 {
				return fmt.Errorf("dataplane: %s=%q: want a file descriptor >= 3", StandbyEnv, v)
			}
			opts.StandbyFD = fd
		}
	}
	ln, err := listen(ctx, opts.Listen)
	if err != nil {
		return err
	}
	defer ln.Close()
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
	if opts.StandbyFD != 0 {
		if activated, err := awaitActivation(ctx, opts.StandbyFD); !activated {
			return err
		}
		log.Info("standby data plane activated")
	}
	var lc net.ListenConfig
	adminLn, err := lc.Listen(ctx, "tcp", opts.AdminListen)
	if err != nil {
		return fmt.Errorf("dataplane: admin listen %s: %w", opts.AdminListen, err)
	}
	// Routes before the first accept: a restarted data plane serves the stored table to
	// the connections that queued while it was down.
	restoreRoutes(gw, opts.DataDir, log)
	admin := &http.Server{Handler: newAdminMux(gw, opts.Token, opts.DataDir, log), ReadHeaderTimeout: 5 * time.Second}

	st := State{PID: os.Getpid(), Listen: ln.Addr().String(), Admin: adminLn.Addr().String(), ListenFD: listenerFD(ln)}
	if err := writeState(opts.DataDir, st); err != nil {
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
	// Remove the state file only if it still describes this process. A data plane stopped
	// on purpose forgets its routes too: the next one starts empty and takes the control
	// plane's table (a killed one keeps them for its restart).
	if cur, rerr := ReadState(opts.DataDir); rerr == nil && cur.PID == st.PID {
		_ = os.Remove(filepath.Join(opts.DataDir, StateFile))
		if rerr := removeRoutes(opts.DataDir); rerr != nil {
			log.Warn("forget the stored routes", "err", rerr)
		}
	}
	return err
}

// listenerFD is ln's file descriptor (0 when unknown).
func listenerFD(ln net.Listener) int {
	sc, ok := ln.(syscall.Conn)
	if !ok {
		return 0
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return 0
	}
	fd := 0
	_ = rc.Control(func(f uintptr) { fd = int(f) })
	return fd
}

// awaitActivation blocks a standby until its supervisor writes a byte on the pipe fd (true)
// or closes it, or ctx ends (false).
func awaitActivation(ctx context.Context, fd int) (bool, error) {
	f := os.NewFile(uintptr(fd), "standby-activation")
	defer f.Close()
	got := make(chan error, 1)
	go func() {
		var b [1]byte
		_, err := io.ReadFull(f, b[:])
		got <- err
	}()
	select {
	case <-ctx.Done():
		return false, nil
	case err := <-got:
		if errors.Is(err, io.EOF) {
			return false, nil // not needed any more
		}
		if err != nil {
			return false, fmt.Errorf("dataplane: standby activation pipe: %w", err)
		}
		return true, nil
	}
}

// listen opens the traffic listener: addr, or an inherited socket given as "fd:N".
func listen(ctx context.Context, addr string) (net.Listener, error) {
	if n, ok := strings.CutPrefix(addr, "fd:"); ok {
		fd, err := strconv.Atoi(n)
		if err != nil || fd < 3 {
			return nil, fmt.Errorf("dataplane: listen %s: want fd:N with N >= 3", addr)
		}
		f := os.NewFile(uintptr(fd), "traffic-listener")
		defer f.Close() // FileListener holds its own duplicate
		ln, err := net.FileListener(f)
		if err != nil {
			return nil, fmt.Errorf("dataplane: inherited listener %s: %w", addr, err)
		}
		return ln, nil
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dataplane: listen %s: %w", addr, err)
	}
	return ln, nil
}

// restoreRoutes loads the stored route table, if any. A missing or invalid one starts the
// gateway empty (the control plane pushes its table), with a warning for an invalid one.
func restoreRoutes(gw *gateway.Gateway, dataDir string, log *slog.Logger) {
	t, err := ReadRoutes(dataDir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return
	case err != nil:
		log.Warn("stored routes not restored; starting empty", "err", err)
		return
	case len(t.Services) == 0:
		return
	}
	if err := gw.SetRoutes(t); err != nil {
		log.Warn("stored routes not restored; starting empty", "err", err)
		return
	}
	log.Info("restored the stored routes", "services", len(t.Services))
}

// newAdminMux serves the admin API: PUT/GET /routes, GET /snapshot, GET /healthz.
func newAdminMux(gw *gateway.Gateway, token, dataDir string, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	// Serialises applying and storing a table, so the stored one is the served one.
	var routesMu sync.Mutex
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
		routesMu.Lock()
		defer routesMu.Unlock()
		if err := gw.SetRoutes(t); err != nil {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"error": err.Error()})
			return
		}
		// Stored for a restart after a crash. A failed write is not the caller's error: the
		// table is served, and the supervisor writes the desired table before a restart.
		if err := WriteRoutes(dataDir, t); err != nil {
			log.Warn("store the route table for a restart", "err", err)
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
