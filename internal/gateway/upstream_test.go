package gateway

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// modelServerLike reads bodies like cmd/detector does: net/http with an 8 MiB
// MaxBytesReader, 400 above it (and the connection closed with the body unread).
func modelServerLike() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 8<<20)); err != nil {
			http.Error(w, "request body exceeds the limit", http.StatusBadRequest)
			return
		}
		oipAnswer("ok", 1, 0.9)(w, r)
	}
}

// A body over the service's limit gets 413 from the gateway: it never reaches a replica,
// never counts against a revision, never ejects.
func TestBodyOverServiceLimitGets413AndCountsNothing(t *testing.T) {
	r1, r2 := startBackend(t, modelServerLike()), startBackend(t, modelServerLike())
	g := New(Config{}, nil)
	if err := g.SetRoutes(oneService(Revision{Name: "stable", Weight: 1, Endpoints: eps(r1.addr, r2.addr)})); err != nil {
		t.Fatal(err)
	}
	base := startGateway(t, g)
	c := testClient()
	body := bytes.Repeat([]byte("x"), 20<<20) // over the detector's 8 MiB, under the listener's 32 MiB
	for i := 0; i < 4; i++ {
		resp, err := c.Post(base+"/v2/models/detector/infer", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("20 MiB body: %d, want 413", resp.StatusCode)
		}
	}
	if h := r1.hits.Load() + r2.hits.Load(); h != 0 {
		t.Errorf("replicas saw %d oversized bodies", h)
	}
	s := g.Recorder().Window("detector", "stable", time.Minute)
	if s.Requests != 0 || s.ConnectionErrors != 0 || s.ErrorRate() != 0 {
		t.Errorf("oversized bodies counted against the revision: %+v", s)
	}
	// Both replicas still serve.
	for i := 0; i < 20; i++ {
		if resp, _ := post(t, c, base+"/v2/models/detector/infer", `{"inputs":[]}`); resp.StatusCode != 200 {
			t.Fatalf("after oversized bodies: %d", resp.StatusCode)
		}
	}
	if r1.hits.Load() == 0 || r2.hits.Load() == 0 {
		t.Errorf("a replica was ejected: hits %d / %d", r1.hits.Load(), r2.hits.Load())
	}
}

// The listener's own limit answers 413 too (fasthttp's default is "400 Error when parsing
// request").
func TestBodyOverListenerLimitGets413(t *testing.T) {
	r1 := startBackend(t, modelServerLike())
	g := New(Config{MaxBodyBytes: 1 << 20}, nil)
	if err := g.SetRoutes(oneService(Revision{Name: "stable", Weight: 1, Endpoints: eps(r1.addr)})); err != nil {
		t.Fatal(err)
	}
	base := startGateway(t, g)
	// Announce a 2 MiB body and send none: the answer must come from the header alone
	// (a client writing the body could see the reset before the answer).
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, _ = io.WriteString(conn, "POST /v2/models/detector/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2097152\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("body over the listener limit: %d %s, want 413", resp.StatusCode, b)
	}
}

// Client errors are the client's: never a backend failure, never ejected, never retried.
func TestClientErrorsNeverEjectOrRetry(t *testing.T) {
	bad := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "bad input", http.StatusUnprocessableEntity)
	})
	r1, r2 := startBackend(t, bad), startBackend(t, bad)
	g := New(Config{}, nil)
	if err := g.SetRoutes(oneService(Revision{Name: "stable", Weight: 1, Endpoints: eps(r1.addr, r2.addr)})); err != nil {
		t.Fatal(err)
	}
	base := startGateway(t, g)
	c := testClient()
	const n = 40
	for i := 0; i < n; i++ {
		if resp, _ := post(t, c, base+"/v2/models/detector/infer", `{"inputs":[]}`); resp.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("status %d, want the backend's 422", resp.StatusCode)
		}
	}
	if h := r1.hits.Load() + r2.hits.Load(); h != n {
		t.Errorf("replicas saw %d requests for %d sent (retried?)", h, n)
	}
	if r1.hits.Load() == 0 || r2.hits.Load() == 0 {
		t.Errorf("a replica was ejected over client errors: hits %d / %d", r1.hits.Load(), r2.hits.Load())
	}
	s := g.Recorder().Window("detector", "stable", time.Minute)
	if s.ErrorRate() != 0 || s.ConnectionErrors != 0 || s.Retries != 0 {
		t.Errorf("client errors counted as backend failures: %+v", s)
	}
}

// closingBackend answers each request on a connection with a keep-alive response and then
// closes the connection, as a server does when its idle timeout fires between requests.
func closingBackend(t *testing.T) (addr string, conns *atomic.Int64) {
	t.Helper()
	ln := mustListen(t)
	t.Cleanup(func() { ln.Close() })
	conns = new(atomic.Int64)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go func(conn net.Conn) {
				defer conn.Close()
				req, err := http.ReadRequest(bufio.NewReader(conn))
				if err != nil {
					return
				}
				_, _ = io.Copy(io.Discard, req.Body)
				body := `{"outputs":[{"name":"label","datatype":"INT64","shape":[1],"data":[1]}]}`
				_, _ = io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "+
					strconv.Itoa(len(body))+"\r\n\r\n"+body)
			}(conn)
		}
	}()
	return ln.Addr().String(), conns
}

// A pooled connection the backend closed while idle is retried once on a fresh connection
// (for any service, since the request never got an answer byte), not turned into a 502.
func TestStalePooledConnectionRetriedOnFreshConnection(t *testing.T) {
	addr, conns := closingBackend(t)
	tbl := oneService(Revision{Name: "stable", Weight: 1, Endpoints: eps(addr)})
	svc := tbl.Services["detector"]
	svc.Idempotent = false // no retry on another endpoint: only the fresh-connection retry
	tbl.Services["detector"] = svc
	g := New(Config{}, nil)
	if err := g.SetRoutes(tbl); err != nil {
		t.Fatal(err)
	}
	base := startGateway(t, g)
	c := testClient()
	const n = 10
	for i := 0; i < n; i++ {
		if resp, body := post(t, c, base+"/v2/models/detector/infer", `{"inputs":[]}`); resp.StatusCode != 200 {
			t.Fatalf("request %d after the backend closed the pooled connection: %d %s", i, resp.StatusCode, body)
		}
	}
	if got := conns.Load(); got < n {
		t.Errorf("%d connections for %d requests: each needs a fresh one", got, n)
	}
	s := g.Recorder().Window("detector", "stable", time.Minute)
	if s.ConnectionErrors != 0 || s.StatusClass[2] != n {
		t.Errorf("snapshot %+v", s)
	}
}

func TestUpstreamIdleTimeoutBelowTypicalBackendTimeouts(t *testing.T) {
	g := New(Config{}, nil)
	if err := g.SetRoutes(oneService(Revision{Name: "stable", Weight: 1, Endpoints: eps("127.0.0.1:1")})); err != nil {
		t.Fatal(err)
	}
	for _, e := range g.endpoints {
		if d := e.client.MaxIdleConnDuration; d <= 0 || d > 4*time.Second {
			t.Errorf("upstream idle timeout %v: must be <= 4s (net/http, uvicorn and Node close idle connections after 5s)", d)
		}
	}
}
