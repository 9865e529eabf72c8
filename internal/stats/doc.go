// Package stats holds the statistics behind shipsafe's judge: anytime-valid sequential tests
// that compare a canary with the stable version and may be checked as often as wanted without
// inflating false rollbacks, plus fixed-sample comparisons (Mann-Whitney U) and drift
// measures (PSI, two-sample Kolmogorov-Smirnov).
//
// Every sequential test reports a Verdict. Insufficient data is its own outcome and is never
// reported as "canary OK": the judge only ever says "canary worse" (with evidence) or "no
// evidence yet". See docs/judge.md for the methods, their guarantees and measured behaviour.
package stats
