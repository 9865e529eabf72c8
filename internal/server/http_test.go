package server

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/shipsafe/shipsafe/internal/apiservice"
)

// actorBackend records the audit actor of each change.
type actorBackend struct {
	fakeBackend
	actors []string
}

func (b *actorBackend) Apply(ctx context.Context, actor string, m []byte) (apiservice.ApplyResult, error) {
	b.actors = append(b.actors, actor)
	return b.fakeBackend.Apply(ctx, actor, m)
}

func (b *actorBackend) Command(ctx context.Context, actor, name string, c apiservice.Command) error {
	b.actors = append(b.actors, actor)
	return b.fakeBackend.Command(ctx, actor, name, c)
}

// The audit actor comes from the credential, not from a header the caller chooses.
func TestActorComesFromTheCredential(t *testing.T) {
	b := &actorBackend{}
	srv := httptest.NewServer(New(b, "secret", nil).Handler())
	defer srv.Close()
	for _, path := range []string{"/api/v1/apply", "/api/v1/rollouts/x/pause"} {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader("kind: Rollout"))
		req.Header.Set("Authorization", "Bearer secret")
		req.Header.Set("X-Shipsafe-Actor", "alice")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if len(b.actors) != 2 {
		t.Fatalf("actors %v", b.actors)
	}
	for _, a := range b.actors {
		if a != "token" {
			t.Errorf("actor %q, want \"token\" (from the credential, not the header)", a)
		}
	}
}

// A DNS-rebinding page reaches the loopback API under its own host name: refused.
func TestHostHeaderMustNameTheListener(t *testing.T) {
	s := New(&fakeBackend{}, "secret", nil)
	s.AllowHosts("shipsafe.internal")
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	for host, want := range map[string]int{
		"127.0.0.1:" + port:         200,
		"localhost:" + port:         200,
		"LOCALHOST:" + port:         200,
		"[::1]:" + port:             200,
		"shipsafe.internal:" + port: 200,
		"evil.example:" + port:      http.StatusMisdirectedRequest,
		"evil.example":              http.StatusMisdirectedRequest,
		"localhost.evil.example":    http.StatusMisdirectedRequest,
	} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/rollouts", nil)
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("Host %q: %d, want %d", host, resp.StatusCode, want)
		}
	}
}

// A body trickled (or never sent) without a token gets its 401 at once, and any body
// is bounded in time; the server has read and idle timeouts.
func TestSlowBodyIsBounded(t *testing.T) {
	s := New(&fakeBackend{}, "secret", nil)
	s.bodyTimeout = 300 * time.Millisecond
	hs := HTTPServer(s.Handler())
	if hs.ReadHeaderTimeout <= 0 || hs.ReadTimeout <= 0 || hs.IdleTimeout <= 0 {
		t.Errorf("timeouts: header %v read %v idle %v", hs.ReadHeaderTimeout, hs.ReadTimeout, hs.IdleTimeout)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = hs.Serve(ln) }()
	defer hs.Close()
	for _, auth := range []string{"", "Authorization: Bearer secret\r\n"} {
		conn, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		// Announce 100 bytes, send 1.
		_, _ = io.WriteString(conn, "POST /api/v1/apply HTTP/1.1\r\nHost: "+ln.Addr().String()+"\r\n"+auth+"Content-Length: 100\r\n\r\nk")
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		conn.Close()
		if err != nil {
			t.Errorf("auth %q: no answer to a stalled body within 5s: %v", auth, err)
			continue
		}
		resp.Body.Close()
		if want := map[bool]int{true: http.StatusUnauthorized, false: http.StatusBadRequest}[auth == ""]; resp.StatusCode != want && !(auth != "" && resp.StatusCode == http.StatusRequestTimeout) {
			t.Errorf("auth %q: %d, want %d", auth, resp.StatusCode, want)
		}
	}
}
