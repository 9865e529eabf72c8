package flagdtestbed

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// Serve starts an OFREP server for a flag definitions document and returns its base URL
// (http://127.0.0.1:PORT). It is called once per flag source the scenarios use, possibly
// from a subtest's goroutine: it returns errors rather than failing the test, and stops
// its server in a t.Cleanup of the test that called Run.
type Serve func(source string, document []byte) (string, error)

// Summary counts one suite's scenarios.
type Summary struct {
	Suite    string
	Passed   int
	Failed   int
	Excluded map[string]int // reason → scenarios
}

// Ran is the number of scenarios that were run.
func (s Summary) Ran() int { return s.Passed + s.Failed }

func (s Summary) String() string {
	excluded := 0
	var reasons []string
	for r, n := range s.Excluded {
		excluded += n
		reasons = append(reasons, fmt.Sprintf("%d × %s", n, r))
	}
	sort.Strings(reasons)
	out := fmt.Sprintf("flagd-testbed %s suite: %d/%d scenarios passed through OFREP, %d excluded", s.Suite, s.Passed, s.Ran(), excluded)
	if excluded > 0 {
		out += ":\n  " + strings.Join(reasons, "\n  ")
	}
	return out
}

// Run runs every scenario of a suite as a subtest (excluded ones are skipped with their
// reason) and returns the counts. dir is the testbed directory.
func Run(t *testing.T, dir, suite string, serve Serve) Summary {
	t.Helper()
	scenarios, err := Load(dir, suite)
	if err != nil {
		t.Fatalf("load the %s suite: %v", suite, err)
	}
	if len(scenarios) == 0 {
		t.Fatalf("the %s suite has no scenarios in %s", suite, dir)
	}
	var (
		mu   sync.Mutex
		urls = map[string]string{}
	)
	resolve := func(source string) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		if u, ok := urls[source]; ok {
			return u, nil
		}
		doc, err := Document(dir, source)
		if err != nil {
			return "", err
		}
		u, err := serve(source, doc)
		if err != nil {
			return "", fmt.Errorf("serve flag source %s: %w", source, err)
		}
		urls[source] = u
		return u, nil
	}
	client := &http.Client{Timeout: 30 * time.Second}
	defs := steps()
	sum := Summary{Suite: suite, Excluded: map[string]int{}}
	seen := map[string]int{}
	for _, s := range scenarios {
		name := s.ID()
		if seen[name]++; seen[name] > 1 {
			name = fmt.Sprintf("%s #%d", name, seen[name])
		}
		if reason := excluded(s); reason != "" {
			sum.Excluded[reason]++
			t.Run(name, func(t *testing.T) { t.Skip("excluded: " + reason) })
			continue
		}
		ok := t.Run(name, func(t *testing.T) {
			w := &world{ctx: t.Context(), client: client, resolve: resolve, evalCtx: map[string]any{}}
			if err := runSteps(w, s, defs); err != nil {
				t.Error(err)
			}
		})
		if ok {
			sum.Passed++
		} else {
			sum.Failed++
		}
	}
	return sum
}
