package e2e

import (
	"bytes"
	"encoding/json"
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

// replicaMarker carries the replica's ID (local.EnvReplica).
const replicaMarker = "SHIPSAFE_REPLICA"

// servicePIDs lists the pids the platform's state file records for one service's
// revision ("" for every revision of the service).
func (c *cluster) servicePIDs(svc, revision string) []int {
	var st struct {
		Services map[string]map[string]struct {
			Replicas []struct{ PID int }
		}
	}
	b, err := os.ReadFile(filepath.Join(c.dir, "platform", "state.json"))
	if err != nil || json.Unmarshal(b, &st) != nil {
		return nil
	}
	var pids []int
	for name, r := range st.Services[svc] {
		if revision != "" && name != revision {
			continue
		}
		for _, rep := range r.Replicas {
			if rep.PID > 0 {
				pids = append(pids, rep.PID)
			}
		}
	}
	return pids
}

// liveReplicaProcs scans /proc for live (not zombie) processes that carry this cluster's
// replica marker, whether or not the platform recorded them: the ground truth for "no
// duplicate or stray replicas".
func (c *cluster) liveReplicaProcs() []int { return c.liveReplicaProcsOf("") }

// liveReplicaProcsOf is liveReplicaProcs for the replicas of one service (rollout): the
// platform names each replica "<service>-<revision>-<n>" in its environment.
func (c *cluster) liveReplicaProcsOf(svc string) []int {
	want := platformMarker + "=" + filepath.Join(c.dir, "platform")
	replicaOf := []byte(replicaMarker + "=" + svc + "-")
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
		found, ofSvc := false, svc == ""
		for _, kv := range bytes.Split(env, []byte{0}) {
			found = found || string(kv) == want
			ofSvc = ofSvc || bytes.HasPrefix(kv, replicaOf)
		}
		if found && ofSvc && !zombie(pid) {
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
