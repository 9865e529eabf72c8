package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/shipsafe/shipsafe/internal/gateway"
)

const routesV1 = `
defaultService: detector
services:
  detector:
    revisions:
      - {name: stable, weight: 100, endpoints: ["127.0.0.1:8081"]}
`

const routesV2 = `
defaultService: detector
services:
  detector:
    revisions:
      - {name: stable, weight: 80, endpoints: ["127.0.0.1:8081"]}
      - {name: canary, weight: 20, endpoints: ["127.0.0.1:8082"]}
`

const routesInvalid = `
defaultService: detector
services:
  detector:
    revisions:
      - {name: stable, weight: -3, endpoints: ["127.0.0.1:8081"]}
`

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRoutesFileReloadKeepsLastGoodTable(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "routes.yaml")
	if err := os.WriteFile(path, []byte(routesV1), 0o644); err != nil {
		t.Fatal(err)
	}
	g := gateway.New(gateway.Config{}, nil)
	t.Cleanup(g.Close)
	if err := loadRoutesFile(g, path); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- watchRoutesFile(ctx, g, path, slog.New(slog.DiscardHandler)) }()
	t.Cleanup(func() { cancel(); <-done })
	time.Sleep(100 * time.Millisecond) // let the watcher register

	revisions := func() int { return len(g.Routes().Services["detector"].Revisions) }
	if err := os.WriteFile(path, []byte(routesV2), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "reload of a valid file", func() bool { return revisions() == 2 })

	if err := os.WriteFile(path, []byte(routesInvalid), 0o644); err != nil {
		t.Fatal(err)
	}
	time.Sleep(400 * time.Millisecond)
	if revisions() != 2 {
		t.Fatal("an invalid routes file replaced the last good table")
	}

	// Replace by rename, as editors and config tools do.
	tmp := filepath.Join(dir, "routes.yaml.tmp")
	if err := os.WriteFile(tmp, []byte(routesV1), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "reload after rename", func() bool { return revisions() == 1 })
}

func TestAdminTokenSources(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "token")
	if err := os.WriteFile(file, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SHIPSAFE_ADMIN_TOKEN", "from-env")
	for _, c := range []struct {
		o    gatewayOptions
		want string
	}{
		{gatewayOptions{adminToken: "from-flag", adminTokenFile: file}, "from-flag"},
		{gatewayOptions{adminTokenFile: file}, "from-file"},
		{gatewayOptions{}, "from-env"},
	} {
		got, err := adminToken(c.o)
		if err != nil || got != c.want {
			t.Errorf("%+v: %q, %v; want %q", c.o, got, err, c.want)
		}
	}
	if _, err := adminToken(gatewayOptions{adminTokenFile: filepath.Join(dir, "missing")}); err == nil {
		t.Error("missing token file accepted")
	}
}
