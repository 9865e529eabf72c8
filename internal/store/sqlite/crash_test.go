package sqlite

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/shipsafe/shipsafe/internal/store"
)

// writerEnv switches the test binary into a child that writes to the store at the given
// path forever, printing "ack <op> <n>" after each write returns.
const writerEnv = "SHIPSAFE_STORE_TEST_WRITER"

func TestMain(m *testing.M) {
	if path := os.Getenv(writerEnv); path != "" {
		os.Exit(writerMain(path))
	}
	os.Exit(m.Run())
}

func writerMain(path string) int {
	ctx := context.Background()
	s, err := Open(ctx, path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "writer:", err)
		return 1
	}
	start, _ := strconv.Atoi(os.Getenv(writerEnv + "_START"))
	for n := start; ; n++ {
		var op string
		switch n % 4 {
		case 0:
			op = "put"
			_, err = s.PutRollout(ctx, fmt.Sprintf("ro-%d", n/4), map[string]int{"n": n}, nil, 0)
		case 1:
			op = "status"
			_, err = s.UpdateStatus(ctx, store.StatusWrite{Name: fmt.Sprintf("ro-%d", n/4), Status: map[string]int{"n": n}, ExpectedVersion: store.AnyVersion})
		case 2:
			op = "event"
			_, err = s.AppendEvent(ctx, store.Event{Rollout: "ro", Reason: "Tick", Message: strconv.Itoa(n)})
		case 3:
			op = "audit"
			_, err = s.Audit(ctx, store.AuditEntry{Actor: "writer", Action: "tick", Target: "ro", Revision: strconv.Itoa(n)})
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "writer:", err)
			return 1
		}
		// Only after the call returned: this line is the acknowledgement.
		if _, err := fmt.Fprintf(os.Stdout, "ack %s %d\n", op, n); err != nil {
			return 1
		}
	}
}

// TestAcknowledgedWritesSurviveKill9 runs a writer process, SIGKILLs it mid-stream at
// several points, and checks every write it acknowledged is in the reopened database.
func TestAcknowledgedWritesSurviveKill9(t *testing.T) {
	path := t.TempDir() + "/crash.db"
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	acked := map[string]bool{}
	next := 0
	for round, killAfter := range []int{40, 120, 200} {
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), writerEnv+"="+path, writerEnv+"_START="+strconv.Itoa(next))
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		lines := 0
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) != 3 || f[0] != "ack" {
				continue
			}
			acked[f[1]+" "+f[2]] = true
			n, _ := strconv.Atoi(f[2])
			next = max(next, n+1)
			lines++
			if lines == killAfter {
				if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
			}
		}
		err = cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("round %d: writer ended with %v, want killed by SIGKILL", round, err)
		}
		// The next writer starts past anything the killed one may have half-written.
		next += 4 - next%4 + 4
		verifyAcked(t, path, acked)
	}
	if len(acked) < 360 {
		t.Fatalf("only %d acknowledged writes", len(acked))
	}
}

func verifyAcked(t *testing.T, path string, acked map[string]bool) {
	t.Helper()
	ctx := context.Background()
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var check string
	if err := s.DB().QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check = %q, %v", check, err)
	}
	events, err := s.ListEvents(ctx, store.EventQuery{Rollout: "ro"})
	if err != nil {
		t.Fatal(err)
	}
	haveEvent := map[string]bool{}
	for _, e := range events {
		haveEvent[e.Message] = true
	}
	audit, err := s.ListAudit(ctx, store.AuditQuery{Target: "ro"})
	if err != nil {
		t.Fatal(err)
	}
	haveAudit := map[string]bool{}
	for _, a := range audit {
		haveAudit[a.Revision] = true
	}
	for key := range acked {
		op, nStr, _ := strings.Cut(key, " ")
		n, _ := strconv.Atoi(nStr)
		switch op {
		case "put", "status":
			r, err := s.GetRollout(ctx, fmt.Sprintf("ro-%d", n/4))
			if err != nil {
				t.Fatalf("acknowledged %s: %v", key, err)
			}
			if op == "status" {
				var st struct{ N int }
				if err := json.Unmarshal(r.Status, &st); err != nil || st.N != n {
					t.Fatalf("acknowledged %s: status %s", key, r.Status)
				}
			}
		case "event":
			if !haveEvent[nStr] {
				t.Fatalf("acknowledged %s missing", key)
			}
		case "audit":
			if !haveAudit[nStr] {
				t.Fatalf("acknowledged %s missing", key)
			}
		}
	}
}
