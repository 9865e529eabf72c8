package local

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/shipsafe/shipsafe/internal/platform"
)

// Commands and results: docs/platform.md.

// benchPlatform runs 3 ready helper replicas for the benchmarks.
func benchPlatform(b *testing.B) *Platform {
	b.Helper()
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	p, err := Open(b.TempDir(), Options{Executable: exe})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_ = p.Shutdown(ctx)
	})
	ctx := context.Background()
	if err := p.Apply(ctx, "svc", []platform.Revision{{Name: "v1", Template: helperTemplate(), Replicas: 3}}); err != nil {
		b.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); ; {
		if st, err := p.Observe(ctx, "svc"); err == nil && len(st) == 1 && st[0].Ready == 3 {
			return p
		}
		if time.Now().After(deadline) {
			b.Fatal("replicas not ready")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// BenchmarkObserve is the control plane's per-reconcile read of replica state.
func BenchmarkObserve(b *testing.B) {
	p := benchPlatform(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Observe(ctx, "svc"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUsage is one CPU/RSS sample of a 3-replica revision (a scan of /proc).
func BenchmarkUsage(b *testing.B) {
	p := benchPlatform(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Usage(ctx, "svc", "v1"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkApplyNoChange is an idempotent re-Apply (the steady state of reconciling).
func BenchmarkApplyNoChange(b *testing.B) {
	p := benchPlatform(b)
	ctx := context.Background()
	revs := []platform.Revision{{Name: "v1", Template: helperTemplate(), Replicas: 3}}
	b.ReportAllocs()
	for b.Loop() {
		if err := p.Apply(ctx, "svc", revs); err != nil {
			b.Fatal(err)
		}
	}
}
