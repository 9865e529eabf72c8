package flags

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

const ofrepDoc = `{"flags": {
  "static": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "on"},
  "split": {"state": "ENABLED", "variants": {"a": "model-a", "b": "model-b"}, "defaultVariant": "a",
            "targeting": {"fractional": [["a", 50], ["b", 50]]}},
  "bad": {"state": "ENABLED", "variants": {"a": 1}, "defaultVariant": "a", "targeting": {"if": [true, "zzz", "a"]}},
  "off": {"state": "DISABLED", "variants": {"a": 1}, "defaultVariant": "a"},
  "obj": {"state": "ENABLED", "variants": {"cfg": {"threshold": 0.5}}, "defaultVariant": "cfg", "metadata": {"owner": "ml"}}
}}`

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newTestServer(t *testing.T, o HandlerOptions, doc string) (*httptest.Server, *Store) {
	t.Helper()
	if o.Store == nil {
		o.Store = NewStore(StoreOptions{Audit: &fakeAudit{}})
	}
	if doc != "" {
		if _, err := o.Store.Load(t.Context(), []byte(doc), "test", "", "load"); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(NewHandler(o))
	t.Cleanup(srv.Close)
	return srv, o.Store
}

type reply struct {
	status int
	header http.Header
	body   map[string]any
}

func do(t *testing.T, method, url, body string, headers ...string) reply {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return reply{resp.StatusCode, resp.Header, m}
}

func TestOFREPSingleEvaluation(t *testing.T) {
	srv, _ := newTestServer(t, HandlerOptions{}, ofrepDoc)
	u := srv.URL + "/ofrep/v1/evaluate/flags/"
	cases := []struct {
		key, body string
		status    int
		want      map[string]any
	}{
		{"static", `{"context": {}}`, 200, map[string]any{"key": "static", "value": true, "reason": "STATIC", "variant": "on", "cacheable": true}},
		{"split", `{"context": {"targetingKey": "jon@company.com"}}`, 200, map[string]any{"reason": "SPLIT"}},
		{"obj", ``, 200, map[string]any{"value": map[string]any{"threshold": 0.5}, "metadata": map[string]any{"owner": "ml"}}},
		{"off", `{}`, 200, map[string]any{"key": "off", "reason": "DISABLED", "value": nil}},
		{"nope", `{"context": {}}`, 404, map[string]any{"key": "nope", "errorCode": "FLAG_NOT_FOUND"}},
		{"split", `{"context": {}}`, 200, map[string]any{"reason": "SPLIT"}}, // flagd: flagKey + ""
		{"bad", `{"context": {}}`, 400, map[string]any{"errorCode": "GENERAL"}},
		{"static", `{"context": "nope"}`, 400, map[string]any{"errorCode": "INVALID_CONTEXT"}},
		{"static", `{"context": {"targetingKey": 7}}`, 400, map[string]any{"errorCode": "INVALID_CONTEXT"}},
		{"static", `not json`, 400, map[string]any{"errorCode": "INVALID_CONTEXT"}},
	}
	for _, c := range cases {
		r := do(t, "POST", u+c.key, c.body, "Content-Type", "application/json")
		if r.status != c.status {
			t.Errorf("%s %s: status %d, want %d (%v)", c.key, c.body, r.status, c.status, r.body)
			continue
		}
		for k, want := range c.want {
			if toJSON(r.body[k]) != toJSON(want) {
				t.Errorf("%s %s: %s = %s, want %s", c.key, c.body, k, toJSON(r.body[k]), toJSON(want))
			}
		}
	}

	empty, _ := newTestServer(t, HandlerOptions{}, "")
	if r := do(t, "POST", empty.URL+"/ofrep/v1/evaluate/flags/x", `{}`); r.status != 500 || r.body["errorCode"] != "GENERAL" {
		t.Errorf("no flags loaded: %d %v", r.status, r.body)
	}
}

func TestOFREPBulkETagAndConfiguration(t *testing.T) {
	srv, _ := newTestServer(t, HandlerOptions{AdminTokens: map[string]string{"admintok": "alice"}}, ofrepDoc)
	u := srv.URL + "/ofrep/v1/evaluate/flags"
	body := `{"context": {"targetingKey": "user-1"}}`
	r := do(t, "POST", u, body)
	etag := r.header.Get("ETag")
	if r.status != 200 || etag == "" {
		t.Fatalf("bulk: %d etag %q", r.status, etag)
	}
	flags, _ := r.body["flags"].([]any)
	if len(flags) != 5 {
		t.Fatalf("bulk returned %d flags: %v", len(flags), r.body)
	}
	byKey := map[string]map[string]any{}
	for _, f := range flags {
		m := f.(map[string]any)
		byKey[m["key"].(string)] = m
	}
	if byKey["off"]["reason"] != "DISABLED" || byKey["bad"]["errorCode"] != "GENERAL" || byKey["split"]["reason"] != "SPLIT" {
		t.Errorf("bulk entries: %v", byKey)
	}
	if rc := toJSON(r.body["refreshConnections"]); !strings.Contains(rc, `"type":"sse"`) {
		t.Errorf("refreshConnections: %s", rc)
	}
	if r := do(t, "POST", u, body, "If-None-Match", etag); r.status != 304 {
		t.Errorf("If-None-Match with the current ETag: %d, want 304", r.status)
	}
	if r := do(t, "PUT", srv.URL+"/api/v1/flags/static", `{"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off"}`,
		"Authorization", "Bearer admintok"); r.status != 200 {
		t.Fatalf("put: %d %v", r.status, r.body)
	}
	r2 := do(t, "POST", u, body, "If-None-Match", etag)
	if r2.status != 200 || r2.header.Get("ETag") == etag {
		t.Errorf("after a change: %d etag %q (was %q)", r2.status, r2.header.Get("ETag"), etag)
	}
	if r := do(t, "POST", u, `{"context": []}`); r.status != 400 || r.body["errorCode"] != "INVALID_CONTEXT" {
		t.Errorf("bulk invalid context: %d %v", r.status, r.body)
	}

	c := do(t, "GET", srv.URL+"/ofrep/v1/configuration", "")
	if c.status != 200 || c.body["name"] != "shipsafe" || c.header.Get("ETag") == "" {
		t.Fatalf("configuration: %d %v", c.status, c.body)
	}
	if r := do(t, "GET", srv.URL+"/ofrep/v1/configuration", "", "If-None-Match", c.header.Get("ETag")); r.status != 304 {
		t.Errorf("configuration If-None-Match: %d", r.status)
	}
}

func TestOFREPAuthAndRateLimit(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	srv, _ := newTestServer(t, HandlerOptions{APIKeys: []string{"k1"}, RatePerSecond: 2, Now: clock.now}, ofrepDoc)
	u := srv.URL + "/ofrep/v1/evaluate/flags/static"
	if r := do(t, "POST", u, `{}`); r.status != 401 {
		t.Errorf("no credentials: %d", r.status)
	}
	if r := do(t, "POST", u, `{}`, "Authorization", "Bearer wrong"); r.status != 403 {
		t.Errorf("wrong key: %d", r.status)
	}
	if r := do(t, "POST", u, `{}`, "Authorization", "Bearer k1"); r.status != 200 {
		t.Errorf("bearer: %d", r.status)
	}
	if r := do(t, "POST", u, `{}`, "X-API-Key", "k1"); r.status != 200 {
		t.Errorf("X-API-Key: %d", r.status)
	}
	r := do(t, "POST", u, `{}`, "X-API-Key", "k1")
	if r.status != 429 || r.header.Get("Retry-After") == "" {
		t.Errorf("over the limit: %d Retry-After %q", r.status, r.header.Get("Retry-After"))
	}
	clock.add(time.Second)
	if r := do(t, "POST", u, `{}`, "X-API-Key", "k1"); r.status != 200 {
		t.Errorf("after the window: %d", r.status)
	}
}

func TestChangeAPIAuthAuditAndSSE(t *testing.T) {
	audit := &fakeAudit{}
	store := NewStore(StoreOptions{Audit: audit})
	srv, _ := newTestServer(t, HandlerOptions{Store: store, AdminTokens: map[string]string{"tok-alice": "alice"}}, ofrepDoc)
	flagURL := srv.URL + "/api/v1/flags/new-model"
	def := `{"enabled": true, "rollout_percentage": 30}`
	if r := do(t, "PUT", flagURL, def); r.status != 401 {
		t.Errorf("no token: %d", r.status)
	}
	if r := do(t, "PUT", flagURL, def, "Authorization", "Bearer nope"); r.status != 403 {
		t.Errorf("wrong token: %d", r.status)
	}
	closed, _ := newTestServer(t, HandlerOptions{}, ofrepDoc)
	if r := do(t, "PUT", closed.URL+"/api/v1/flags/x", def, "Authorization", "Bearer any"); r.status != 403 {
		t.Errorf("change API without admin tokens: %d", r.status)
	}

	// Subscribe to the SSE stream, then change a flag and read the event.
	req, _ := http.NewRequestWithContext(t.Context(), "GET", srv.URL+"/ofrep/v1/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	lines := bufio.NewReader(resp.Body)
	if first, _ := lines.ReadString('\n'); !strings.HasPrefix(first, ":") {
		t.Fatalf("stream preamble: %q", first)
	}

	if r := do(t, "PUT", flagURL, def, "Authorization", "Bearer tok-alice"); r.status != 200 {
		t.Fatalf("put: %d %v", r.status, r.body)
	}
	var data string
	for data == "" {
		line, err := lines.ReadString('\n')
		if err != nil {
			t.Fatalf("read stream: %v", err)
		}
		if d, ok := strings.CutPrefix(line, "data: "); ok {
			data = d
		}
	}
	var ev map[string]any
	mustUnmarshal(t, data, &ev)
	if ev["type"] != "refetchEvaluation" || ev["actor"] != "alice" || toJSON(ev["changed"]) != `["new-model"]` {
		t.Errorf("SSE event: %s", data)
	}

	bad := do(t, "PUT", flagURL, `{"enabled": true, "rollout_percentage": 130}`, "Authorization", "Bearer tok-alice")
	if bad.status != 400 || bad.body["path"] != "flags.new-model.rollout_percentage" {
		t.Errorf("bad change: %d %v", bad.status, bad.body)
	}
	if r := do(t, "DELETE", srv.URL+"/api/v1/flags/missing", "", "Authorization", "Bearer tok-alice"); r.status != 404 {
		t.Errorf("delete missing: %d", r.status)
	}
	if r := do(t, "DELETE", flagURL, "", "Authorization", "Bearer tok-alice"); r.status != 200 {
		t.Errorf("delete: %d %v", r.status, r.body)
	}
	doc := do(t, "GET", srv.URL+"/api/v1/flags", "", "Authorization", "Bearer tok-alice")
	if doc.status != 200 || doc.body["version"] != 3.0 {
		t.Errorf("get document: %d %v", doc.status, doc.body)
	}
	entries := audit.all()
	if len(entries) != 2 || entries[0].action != "flag.put" || entries[0].target != "new-model" || entries[1].action != "flag.delete" {
		t.Errorf("audit: %+v", entries)
	}
	whole := do(t, "PUT", srv.URL+"/api/v1/flags", `{"flags": {}}`, "Authorization", "Bearer tok-alice")
	if whole.status != 200 {
		t.Errorf("replace all: %d %v", whole.status, whole.body)
	}
}
