package detectorbench

import (
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// threadCPU reports the benchmark's on-CPU time per op as "cpu-ns/op". The machine is shared
// (2 cores, other jobs running), so wall-clock ns/op includes time the benchmark spent waiting
// for a core; the thread's CPU clock does not. The benchmark goroutine is locked to its thread
// so the thread clock covers exactly its work.
type threadCPU struct{ start time.Duration }

func startThreadCPU(b *testing.B) *threadCPU {
	b.Helper()
	runtime.LockOSThread()
	b.Cleanup(runtime.UnlockOSThread)
	return &threadCPU{start: threadTime(b)}
}

func (t *threadCPU) report(b *testing.B, ops int) {
	if ops > 0 {
		b.ReportMetric(float64(threadTime(b)-t.start)/float64(ops), "cpu-ns/op")
	}
}

func threadTime(b *testing.B) time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		b.Fatalf("thread CPU clock: %v", err)
	}
	return time.Duration(ts.Nano())
}
