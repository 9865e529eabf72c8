package local

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// userHZ is the unit of the tick counters in /proc/<pid>/stat. Linux fixes USER_HZ at
// 100 for the userspace ABI on every architecture we run on.
const userHZ = 100

// procStat is the part of /proc/<pid>/stat the platform needs.
type procStat struct {
	State      byte   // R, S, D, Z, X, ...
	PPID       int    // parent
	PGID       int    // process group
	SID        int    // session
	UTime      uint64 // user ticks
	STime      uint64 // system ticks
	StartTicks uint64 // start time in ticks after boot: with the pid, identifies a process
}

// readProcStat parses /proc/<pid>/stat. The command name (field 2) may contain spaces
// and parentheses, so parsing starts after its last ')'.
func readProcStat(procRoot string, pid int) (procStat, error) {
	data, err := os.ReadFile(fmt.Sprintf("%s/%d/stat", procRoot, pid))
	if err != nil {
		return procStat{}, err
	}
	return parseProcStat(data)
}

func parseProcStat(data []byte) (procStat, error) {
	i := bytes.LastIndexByte(data, ')')
	if i < 0 || i+2 >= len(data) {
		return procStat{}, errors.New("malformed stat: no command terminator")
	}
	f := strings.Fields(string(data[i+2:]))
	// f[0] is field 3 (state); field n is f[n-3].
	if len(f) < 20 {
		return procStat{}, fmt.Errorf("malformed stat: %d fields after command", len(f))
	}
	var st procStat
	st.State = f[0][0]
	ints := []struct {
		field int
		dst   *int
	}{{4, &st.PPID}, {5, &st.PGID}, {6, &st.SID}}
	for _, x := range ints {
		v, err := strconv.Atoi(f[x.field-3])
		if err != nil {
			return procStat{}, fmt.Errorf("malformed stat field %d: %w", x.field, err)
		}
		*x.dst = v
	}
	uints := []struct {
		field int
		dst   *uint64
	}{{14, &st.UTime}, {15, &st.STime}, {22, &st.StartTicks}}
	for _, x := range uints {
		v, err := strconv.ParseUint(f[x.field-3], 10, 64)
		if err != nil {
			return procStat{}, fmt.Errorf("malformed stat field %d: %w", x.field, err)
		}
		*x.dst = v
	}
	return st, nil
}

// dead reports whether a stat describes a process that no longer runs.
func (s procStat) dead() bool { return s.State == 'Z' || s.State == 'X' }

// processAlive reports whether pid is still the process that started at startTicks and
// has not exited. Comparing start ticks guards against pid reuse.
func processAlive(procRoot string, pid int, startTicks uint64) bool {
	if pid <= 0 {
		return false
	}
	st, err := readProcStat(procRoot, pid)
	if err != nil {
		return false
	}
	return st.StartTicks == startTicks && !st.dead()
}

// readRSS returns VmRSS from /proc/<pid>/status in bytes (0 for kernel threads/zombies).
func readRSS(procRoot string, pid int) (uint64, error) {
	f, err := os.Open(fmt.Sprintf("%s/%d/status", procRoot, pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "VmRSS:") {
			continue
		}
		fields := strings.Fields(line[len("VmRSS:"):])
		if len(fields) < 1 {
			return 0, fmt.Errorf("malformed VmRSS line %q", line)
		}
		kb, err := strconv.ParseUint(fields[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("malformed VmRSS line %q: %w", line, err)
		}
		return kb * 1024, nil
	}
	return 0, sc.Err()
}

// readEnviron returns the initial environment of pid (empty when unreadable).
func readEnviron(procRoot string, pid int) map[string]string {
	data, err := os.ReadFile(fmt.Sprintf("%s/%d/environ", procRoot, pid))
	if err != nil {
		return nil
	}
	env := map[string]string{}
	for kv := range bytes.SplitSeq(data, []byte{0}) {
		if k, v, ok := strings.Cut(string(kv), "="); ok {
			env[k] = v
		}
	}
	return env
}

// listPIDs returns every numeric entry of /proc.
func listPIDs(procRoot string) ([]int, error) {
	entries, err := os.ReadDir(procRoot)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", procRoot, err)
	}
	pids := make([]int, 0, len(entries))
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// scanProcs reads the stat of every live (non-zombie) process.
func scanProcs(procRoot string) (map[int]procStat, error) {
	pids, err := listPIDs(procRoot)
	if err != nil {
		return nil, err
	}
	out := make(map[int]procStat, len(pids))
	for _, pid := range pids {
		if st, err := readProcStat(procRoot, pid); err == nil && !st.dead() {
			out[pid] = st
		}
	}
	return out, nil
}

// groupMembers returns the live (non-zombie) processes whose process group is pgid,
// with their stats. It scans all of /proc, because once the leader has exited its
// children are reparented away from it.
func groupMembers(procRoot string, pgid int) (map[int]procStat, error) {
	all, err := scanProcs(procRoot)
	if err != nil {
		return nil, err
	}
	members := map[int]procStat{}
	for pid, st := range all {
		if st.PGID == pgid {
			members[pid] = st
		}
	}
	return members, nil
}

// signalGroup sends sig to every process in group pgid; a group that is already gone
// is not an error.
func signalGroup(pgid int, sig syscall.Signal) error {
	if pgid <= 1 {
		return fmt.Errorf("refusing to signal process group %d", pgid)
	}
	if err := syscall.Kill(-pgid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("signal %v to process group %d: %w", sig, pgid, err)
	}
	return nil
}

// groupTree returns the leader and its descendants that are still in its process group,
// with their stats, found through /proc/<pid>/task/<tid>/children. Unlike groupMembers
// it reads only those processes: a full /proc scan can block for milliseconds on busy
// unrelated processes. ok is false when the kernel lacks the children files (then use
// groupMembers).
func groupTree(procRoot string, leader int) (members map[int]procStat, ok bool) {
	members = map[int]procStat{}
	queue := []int{leader}
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		st, err := readProcStat(procRoot, pid)
		if err != nil || st.dead() || st.PGID != leader {
			continue
		}
		members[pid] = st
		tasks, err := os.ReadDir(fmt.Sprintf("%s/%d/task", procRoot, pid))
		if err != nil {
			continue
		}
		for _, task := range tasks {
			data, err := os.ReadFile(fmt.Sprintf("%s/%d/task/%s/children", procRoot, pid, task.Name()))
			if errors.Is(err, os.ErrNotExist) && pid == leader {
				return nil, false
			}
			for f := range strings.FieldsSeq(string(data)) {
				if child, err := strconv.Atoi(f); err == nil {
					queue = append(queue, child)
				}
			}
		}
	}
	return members, true
}
