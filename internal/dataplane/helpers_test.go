package dataplane

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"syscall"
	"testing"

	"github.com/shipsafe/shipsafe/internal/gateway"
)

// childEnv makes the test binary act as `shipsafe dataplane`, so Ensure and Supervise can
// run real data plane processes without building the shipsafe binary.
const childEnv = "SHIPSAFE_DATAPLANE_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" && len(os.Args) > 1 && os.Args[1] == "dataplane" {
		os.Exit(runChild(os.Args[2:]))
	}
	os.Exit(m.Run())
}

func runChild(args []string) int {
	fs := flag.NewFlagSet("dataplane", flag.ContinueOnError)
	var opts Options
	fs.StringVar(&opts.DataDir, "data-dir", "", "")
	fs.StringVar(&opts.Listen, "listen", "", "")
	fs.StringVar(&opts.AdminListen, "admin-listen", "127.0.0.1:0", "")
	fs.StringVar(&opts.FlagsFile, "flags", "", "")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	opts.FlagsFile = "" // no flag store in these tests
	opts.Token = os.Getenv("SHIPSAFE_DATAPLANE_TOKEN")
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := Run(ctx, opts, slog.New(slog.NewTextHandler(os.Stderr, nil))); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// backend is a model replica stand-in answering 200 "ok".
func backend(t *testing.T) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) }))
	t.Cleanup(s.Close)
	return s
}

// oneService routes /svc/m to addr.
func oneService(addr string) gateway.RouteTable {
	return gateway.RouteTable{Services: map[string]gateway.Service{
		"m": {Idempotent: true, Revisions: []gateway.Revision{{Name: "r1", Weight: 100, Endpoints: []gateway.Endpoint{{Address: addr}}}}},
	}}
}
