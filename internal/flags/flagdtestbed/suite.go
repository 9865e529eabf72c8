package flagdtestbed

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// The testbed's two suites: the evaluator suite (evaluator/gherkin, for flag evaluators
// such as flagd's own core and shipsafe's) and the provider suite (gherkin/, for flagd
// providers talking to a flagd serving the testbed's flags/).
const (
	EvaluatorSuite = "evaluator"
	ProviderSuite  = "provider"
)

// Source names a flag definitions document the scenarios evaluate against.
const (
	// SourceEvaluator is evaluator/flags/testkit-flags.json plus flags/disabled-flags.json
	// and flags/precision-flags.json, whose flags (the same definitions) the evaluator
	// suite's disabled.feature and precision.feature ask for but the stored testkit file
	// predates.
	SourceEvaluator = "evaluator"
	// SourceProvider is what flagd serves in the testbed's launchpad: every flags/*.json
	// except the selector-* files (served only through a selector) and
	// changing-flag-bar.json (the alternate changing-flag that change-flag.sh swaps in),
	// deep-merged in file-name order.
	SourceProvider = "provider"
	// SourceSelectorPrefix + "rawflags/NAME.json" is the single file flagd serves for the
	// selector option; "flags/allFlags.json" (the merged set) is SourceProvider.
	SourceSelectorPrefix = "selector:"
)

// Exclusion says why scenarios do not apply to an OFREP-evaluated, in-memory flag set.
type Exclusion struct {
	What   string // a tag (@name), a feature file, or file:line of a Scenario (Outline)
	Reason string
}

// Exclusions lists every scenario family the runner does not run, with the reason. A
// scenario matches by feature file, by file:line, or by any of its tags.
func Exclusions() []Exclusion {
	return []Exclusion{
		{"@fractional-v1", "legacy bucketing (abs(hash) / i32::MAX × 100); each implementation runs either the v1 or the v2 examples, and flagd and shipsafe bucket with v2 ((hash × totalWeight) >> 32), whose examples all run"},
		{"@customCert", "transport: a flagd provider's TLS connection with a custom CA; OFREP here is HTTP on 127.0.0.1"},
		{"@unixsocket", "transport: a flagd provider connecting over a unix socket"},
		{"@targetURI", "transport: a flagd provider resolving flagd through an envoy targetUri"},
		{"@reconnect", "provider life-cycle: the gRPC stream to flagd is cut and re-established (error/ready events)"},
		{"@unavailable", "provider life-cycle: initialising against an unreachable flagd"},
		{"@grace", "provider life-cycle: STALE/ERROR events during the retry grace period after a lost connection"},
		{"@caching", "the RPC provider's client-side LRU cache (reason CACHED); OFREP evaluations are not served from a provider cache"},
		{"gherkin/config.feature", "provider configuration: option defaults and FLAGD_* environment variables of a flagd provider, no evaluation"},
		{"gherkin/events.feature", "provider state events (READY/STALE/ERROR) of a flagd provider's connection"},
		{"gherkin/flagd-reconnect.feature", "provider life-cycle: connection lost and re-established"},
		{"gherkin/rpc-caching.feature", "the RPC provider's client-side cache (reason CACHED) and its invalidation by change events"},
		{"gherkin/flagd-rpc-caching.feature", "legacy (pre-2.0 vocabulary) copy of the RPC provider's cache scenarios (reason CACHED)"},
		{"gherkin/flagd-json-evaluator.feature", "legacy (pre-2.0 vocabulary) copy of gherkin/targeting.feature, which runs every one of its cases with current expectations; its fractional rows expect v1 bucketing and the retired *-B variant values"},
		{"gherkin/contextEnrichment.feature", "the in-process provider's context enricher: flagd's sync stream carries server-side context (injectedmetadata) that the provider merges into the evaluation context; there is no sync stream and no server-side context here"},
		{"gherkin/flagd.feature:11", "provider PROVIDER_READY event"},
		{"gherkin/flagd.feature:15", "provider PROVIDER_CONFIGURATION_CHANGED event after changing-flag is modified through the testbed's launchpad"},
		{"gherkin/metadata.feature:19", "broken in the testbed copy: it asks for only-set-metadata-flag in flags/selector-flag-combined-metadata.json, which no stored version of that file (or of any testbed file) defines"},
		{"gherkin/evaluation.feature:68", "broken in the testbed copy: its steps use a <default> placeholder its Examples do not have (the column is code_default), and its flags (null-default-flag, undefined-default-flag, no-default-flag-*) are in no flags/*.json; the same rows run in evaluator/gherkin/no-default-variant.feature"},
	}
}

// excluded returns the reason scenario s is not run ("" if it is run). A feature file or
// one scenario named by file:line is matched before tags, so the most specific reason is
// the one reported.
func excluded(s Scenario) string {
	for _, e := range Exclusions() {
		if e.What == s.File || e.What == fmt.Sprintf("%s:%d", s.File, s.DefLine) {
			return e.What + ": " + e.Reason
		}
	}
	for _, e := range Exclusions() {
		if strings.HasPrefix(e.What, "@") && s.HasTag(e.What) {
			return e.What + ": " + e.Reason
		}
	}
	return ""
}

// Load reads every feature file of a suite, in file-name order.
func Load(dir, suite string) ([]Scenario, error) {
	sub := map[string]string{EvaluatorSuite: "evaluator/gherkin", ProviderSuite: "gherkin"}[suite]
	if sub == "" {
		return nil, fmt.Errorf("unknown suite %q (evaluator or provider)", suite)
	}
	files, err := filepath.Glob(filepath.Join(dir, sub, "*.feature"))
	if err != nil {
		return nil, fmt.Errorf("list %s features: %w", suite, err)
	}
	sort.Strings(files)
	var out []Scenario
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("read feature: %w", err)
		}
		rel, _ := filepath.Rel(dir, f)
		scs, err := ParseFeature(filepath.ToSlash(rel), data)
		if err != nil {
			return nil, err
		}
		out = append(out, scs...)
	}
	return out, nil
}

// Document builds the flag definitions document of a source.
func Document(dir, source string) ([]byte, error) {
	var files []string
	switch {
	case source == SourceEvaluator:
		files = []string{"evaluator/flags/testkit-flags.json", "flags/disabled-flags.json", "flags/precision-flags.json"}
	case source == SourceProvider || source == SourceSelectorPrefix+"flags/allFlags.json":
		all, err := filepath.Glob(filepath.Join(dir, "flags", "*.json"))
		if err != nil {
			return nil, fmt.Errorf("list flag files: %w", err)
		}
		sort.Strings(all)
		for _, f := range all {
			name := filepath.Base(f)
			if strings.HasPrefix(name, "selector-") || name == "changing-flag-bar.json" {
				continue
			}
			files = append(files, "flags/"+name)
		}
	case strings.HasPrefix(source, SourceSelectorPrefix+"rawflags/"):
		files = []string{"flags/" + strings.TrimPrefix(source, SourceSelectorPrefix+"rawflags/")}
	default:
		return nil, fmt.Errorf("unknown flag source %q", source)
	}
	merged := map[string]any{}
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			return nil, fmt.Errorf("flag source %s: %w", source, err)
		}
		var doc map[string]any
		if err := json.Unmarshal(data, &doc); err != nil {
			return nil, fmt.Errorf("flag source %s: %s: %w", source, f, err)
		}
		merged = deepMerge(merged, doc)
	}
	out, err := json.MarshalIndent(merged, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode flag source %s: %w", source, err)
	}
	return out, nil
}

// deepMerge merges src into dst: objects merge key by key, anything else is replaced
// (the launchpad's rule for combining the testbed's flag files).
func deepMerge(dst, src map[string]any) map[string]any {
	for k, sv := range src {
		if sm, ok := sv.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				dst[k] = deepMerge(dm, sm)
				continue
			}
		}
		dst[k] = sv
	}
	return dst
}
