package server

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"testing"
	"time"
)

// Handlers mounted beside the API (OFREP, the flag API) get its Host check and body
// timeout: before, they were served outside both.
func TestMountedRoutesShareHostCheckAndBodyTimeout(t *testing.T) {
	s := New(&fakeBackend{}, "secret", nil)
	s.bodyTimeout = 300 * time.Millisecond
	s.Mount("/ofrep/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); errors.Is(err, os.ErrDeadlineExceeded) {
			readFailure(w, err)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	hs := HTTPServer(s.Handler())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = hs.Serve(ln) }()
	defer hs.Close()
	addr := ln.Addr().String()
	for _, tc := range []struct {
		host, body string
		want       int
	}{
		{addr, "Content-Length: 2\r\n\r\n{}", http.StatusOK},
		{"evil.example", "Content-Length: 2\r\n\r\n{}", http.StatusMisdirectedRequest},
		{addr, "Content-Length: 100\r\n\r\n{", http.StatusRequestTimeout},
	} {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.WriteString(conn, "POST /ofrep/v1/evaluate/flags HTTP/1.1\r\nHost: "+tc.host+"\r\n"+tc.body)
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		conn.Close()
		if err != nil {
			t.Fatalf("host %q: no answer: %v", tc.host, err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("host %q body %q: %d, want %d", tc.host, tc.body, resp.StatusCode, tc.want)
		}
	}
}
