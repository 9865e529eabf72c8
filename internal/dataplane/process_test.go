package dataplane

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"
)

// TestRunServesStoredRoutesFromItsFirstConnection: a data plane started on an inherited
// socket with a stored route table answers the connection that was already waiting in
// the backlog with that table; a table set through the admin API is stored; a data plane
// stopped on purpose forgets it.
func TestRunServesStoredRoutesFromItsFirstConnection(t *testing.T) {
	dir := t.TempDir()
	be := backend(t)
	if err := WriteRoutes(dir, oneService(be.Listener.Addr().String())); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f, err := l.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	defer f.Close()
	// Run takes ownership of the descriptor it is given (it closes it): give it a copy.
	fd, err := syscall.Dup(int(f.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	// A client connects before any data plane runs: it waits in the backlog.
	first := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + addr + "/svc/m/x")
		if err != nil {
			first <- err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		first <- fmt.Sprintf("%d %s", resp.StatusCode, b)
	}()
	time.Sleep(50 * time.Millisecond)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{DataDir: dir, Listen: fmt.Sprintf("fd:%d", fd), Token: "tok"}, slog.New(slog.DiscardHandler))
	}()
	select {
	case got := <-first:
		if got != "200 ok" {
			t.Fatalf("the waiting request got %q, want 200 ok from the stored routes", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the waiting request was not answered")
	}
	var st State
	for st.PID == 0 {
		st, _ = ReadState(dir)
		time.Sleep(5 * time.Millisecond)
	}
	if st.Listen != addr || st.ListenFD <= 0 {
		t.Fatalf("state %+v: want listen %s and its descriptor", st, addr)
	}
	c := NewClient(st.Admin, "tok")
	other := backend(t)
	table := oneService(other.Listener.Addr().String())
	if err := c.SetRoutes(ctx, table); err != nil {
		t.Fatal(err)
	}
	stored, err := ReadRoutes(dir)
	if err != nil || stored.Services["m"].Revisions[0].Endpoints[0].Address != other.Listener.Addr().String() {
		t.Fatalf("stored table %+v (%v): want the one just set", stored, err)
	}
	if d, ok := c.Desired(); !ok || d.Services["m"].Revisions[0].Endpoints[0].Address != other.Listener.Addr().String() {
		t.Fatalf("client's desired table %+v, %v", d, ok)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := ReadRoutes(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("after a graceful stop the stored routes remain (%v): the next start would serve them", err)
	}
}

func TestRunRefusesABadInheritedDescriptor(t *testing.T) {
	for _, l := range []string{"fd:x", "fd:1"} {
		err := Run(context.Background(), Options{DataDir: t.TempDir(), Listen: l, Token: "tok"}, slog.New(slog.DiscardHandler))
		if err == nil {
			t.Fatalf("listen %q: no error", l)
		}
	}
}
