package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// platformMarker is the environment variable the local platform sets on every replica to
// the platform's data dir (local.EnvDataDir), which lets a test find replica processes
// the platform's state file does not list.
const platformMarker = "SHIPSAFE_LOCAL_DIR"

// liveReplicaProcs scans /proc for live (not zombie) processes that carry this cluster's
// replica marker, whether or not the platform recorded them: the ground truth for "no
// duplicate or stray replicas".
func (c *cluster) liveReplicaProcs() []int {
	want := platformMarker + "=" + filepath.Join(c.dir, "platform")
	entries, err := os.ReadDir("/proc")
	if err != nil {
		c.t.Fatalf("read /proc: %v", err)
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil || !bytes.Contains(env, []byte(want)) {
			continue
		}
		found := false
		for _, kv := range bytes.Split(env, []byte{0}) {
			if string(kv) == want {
				found = true
				break
			}
		}
		if found && !zombie(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// zombie reports whether pid has exited but not been reaped (or is gone).
func zombie(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	i := strings.LastIndexByte(string(b), ')')
	return i < 0 || i+2 >= len(b) || b[i+2] == 'Z' || b[i+2] == 'X'
}

// alive reports whether pid runs (and is not a zombie).
func alive(pid int) bool {
	return syscall.Kill(pid, 0) == nil && !zombie(pid)
}
