package loadgen

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
)

// Failure is one kind of failed request: how many, and the first one's detail, so a run in
// which every request failed says why.
type Failure struct {
	Kind  string `json:"kind"` // "connection", "timeout", "HTTP 404", "no label", ...
	Count int    `json:"count"`
	First string `json:"first"`
}

// failures counts failed requests by kind, in the order each kind first appeared.
type failures struct {
	list  []Failure
	index map[string]int
}

// add counts a failure and reports whether it is the first of its kind.
func (f *failures) add(kind, detail string) bool {
	if f.index == nil {
		f.index = map[string]int{}
	}
	if i, ok := f.index[kind]; ok {
		f.list[i].Count++
		return false
	}
	f.index[kind] = len(f.list)
	f.list = append(f.list, Failure{Kind: kind, Count: 1, First: detail})
	return true
}

// transportFailure names a request that got no answer.
func transportFailure(url string, err error) (kind, detail string) {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
		kind = "timeout"
	case errors.Is(err, context.Canceled):
		kind = "canceled"
	default:
		kind = "connection"
	}
	return kind, fmt.Sprintf("POST %s: %v", url, err)
}

// excerpt is the start of an answer body, on one line, for a failure's detail.
func excerpt(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if r := []rune(s); len(r) > 200 {
		s = string(r[:200]) + "…"
	}
	if s == "" {
		return "(empty body)"
	}
	return s
}

// CheckErrorRate returns an error when more than max (0..1) of the requests failed, naming
// the first failure of each kind.
func (r *Report) CheckErrorRate(max float64) error {
	if r.Requests == 0 || r.Errors == 0 || float64(r.Errors) <= max*float64(r.Requests) {
		return nil
	}
	kinds := make([]string, len(r.Failures))
	for i, f := range r.Failures {
		kinds[i] = fmt.Sprintf("%d × %s, first: %s", f.Count, f.Kind, f.First)
	}
	return fmt.Errorf("loadgen: %d of %d requests failed (%.1f%%), more than the allowed %g%% (--max-error-rate): %s",
		r.Errors, r.Requests, 100*float64(r.Errors)/float64(r.Requests), 100*max, strings.Join(kinds, "; "))
}
