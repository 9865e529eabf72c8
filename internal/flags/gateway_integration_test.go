package flags_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shipsafe/shipsafe/internal/flags"
	"github.com/shipsafe/shipsafe/internal/gateway"
)

// The flag that picks the model: patients are split 40/40/20, sticky by patient id.
const modelFlags = `{"flags": {"model-selection": {
  "state": "ENABLED",
  "variants": {"experimental": "experimental", "stable": "stable", "fallback": "fallback"},
  "defaultVariant": "stable",
  "targeting": {"fractional": [["experimental", 40], ["stable", 40], ["fallback", 20]]}
}}}`

// startModel is a real HTTP backend on loopback that answers with its revision name.
func startModel(t *testing.T, name string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		fmt.Fprint(w, name)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

func ptr[T any](v T) *T { return &v }

// flags.Selector is the gateway's VariantSelector (checked at compile time).
var _ gateway.VariantSelector = flags.Selector{}

// TestGatewaySelectsRevisionByFlag runs a real gateway with real HTTP backends: the flag's
// variant picks the revision per patient, an unready revision falls back along the chain
// (experimental → stable → fallback) and each fallback is counted; a flag change through
// the store re-routes live.
func TestGatewaySelectsRevisionByFlag(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	store := flags.NewStore(flags.StoreOptions{})
	if _, err := store.Load(ctx, []byte(modelFlags), "test", "", "load"); err != nil {
		t.Fatal(err)
	}
	addrs := map[string]string{}
	for _, rev := range []string{"rev-exp", "rev-stable", "rev-fallback"} {
		addrs[rev] = startModel(t, rev)
	}
	service := func(unready ...string) gateway.Service {
		var revs []gateway.Revision
		for _, name := range []string{"rev-exp", "rev-stable", "rev-fallback"} {
			ep := gateway.Endpoint{Address: addrs[name]}
			for _, u := range unready {
				if u == name {
					ep.Ready = ptr(false)
				}
			}
			w := 0
			if name == "rev-stable" {
				w = 100
			}
			revs = append(revs, gateway.Revision{Name: name, Weight: w, Endpoints: []gateway.Endpoint{ep}})
		}
		return gateway.Service{
			Revisions: revs,
			Select: &gateway.FlagSelect{
				Flag:               "model-selection",
				TargetingKeyHeader: "X-Patient-Id",
				Variants:           map[string]string{"experimental": "rev-exp", "stable": "rev-stable", "fallback": "rev-fallback"},
				Fallback:           []string{"rev-stable", "rev-fallback"},
			},
		}
	}
	gw := gateway.New(gateway.Config{Selector: flags.Selector{Store: store}}, nil)
	if err := gw.SetRoutes(gateway.RouteTable{Services: map[string]gateway.Service{"detector": service()}}); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- gw.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })
	url := "http://" + ln.Addr().String() + "/svc/detector/v2/models/detector/infer"

	ask := func(patient string) string {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, "POST", url, strings.NewReader(`{"inputs":[]}`))
		req.Header.Set("X-Patient-Id", patient)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("patient %s: %d %s", patient, resp.StatusCode, body)
		}
		return string(body)
	}
	revFor := map[string]string{"experimental": "rev-exp", "stable": "rev-stable", "fallback": "rev-fallback"}
	patients := make([]string, 60)
	want := map[string]string{}
	perVariant := map[string]int{}
	for i := range patients {
		patients[i] = fmt.Sprintf("patient-%03d", i)
		v, ok := store.Current().SelectVariant("model-selection", patients[i])
		if !ok {
			t.Fatalf("no variant for %s", patients[i])
		}
		want[patients[i]] = v
		perVariant[v]++
	}
	if perVariant["experimental"] == 0 || perVariant["stable"] == 0 || perVariant["fallback"] == 0 {
		t.Fatalf("test patients do not cover every variant: %v", perVariant)
	}

	// 1. Every revision ready: each patient reaches its variant's revision, every time.
	for round := 0; round < 2; round++ {
		for _, p := range patients {
			if got := ask(p); got != revFor[want[p]] {
				t.Fatalf("patient %s (variant %s) served by %s", p, want[p], got)
			}
		}
	}
	fallbacks := func(rev string) uint64 { return gw.Recorder().Window("detector", rev, time.Hour).Fallbacks }
	if n := fallbacks("rev-exp"); n != 0 {
		t.Fatalf("fallbacks with everything ready: %d", n)
	}

	// 2. The experimental revision has no ready instance: its patients fall back to stable.
	if err := gw.UpdateService("detector", service("rev-exp")); err != nil {
		t.Fatal(err)
	}
	for _, p := range patients {
		wantRev := revFor[want[p]]
		if want[p] == "experimental" {
			wantRev = "rev-stable"
		}
		if got := ask(p); got != wantRev {
			t.Fatalf("exp unready: patient %s (variant %s) served by %s, want %s", p, want[p], got, wantRev)
		}
	}
	if n := fallbacks("rev-exp"); n != uint64(perVariant["experimental"]) {
		t.Errorf("fallbacks from rev-exp = %d, want %d", n, perVariant["experimental"])
	}

	// 3. Stable is down too: experimental patients walk the whole chain to fallback.
	if err := gw.UpdateService("detector", service("rev-exp", "rev-stable")); err != nil {
		t.Fatal(err)
	}
	before := fallbacks("rev-stable")
	for _, p := range patients {
		if want[p] == "experimental" {
			if got := ask(p); got != "rev-fallback" {
				t.Fatalf("exp+stable unready: patient %s served by %s", p, got)
			}
		}
	}
	if n := fallbacks("rev-stable") - before; n != uint64(perVariant["experimental"]) {
		t.Errorf("second-step fallbacks from rev-stable = %d, want %d", n, perVariant["experimental"])
	}

	// 4. A flag change re-routes live: everyone to the experimental model.
	if err := gw.UpdateService("detector", service()); err != nil {
		t.Fatal(err)
	}
	def, _ := json.Marshal(map[string]any{"state": "ENABLED", "defaultVariant": "experimental",
		"variants": map[string]string{"experimental": "experimental", "stable": "stable", "fallback": "fallback"}})
	if _, err := store.PutFlag(ctx, "test", "model-selection", def); err != nil {
		t.Fatal(err)
	}
	for _, p := range patients[:10] {
		if got := ask(p); got != "rev-exp" {
			t.Fatalf("after the flag change patient %s served by %s", p, got)
		}
	}
}
