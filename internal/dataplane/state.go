package dataplane

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// StateFile is the name, inside the data dir, of the file a running data plane describes
// itself in.
const StateFile = "dataplane.json"

// State is what a running data plane tells the control plane about itself.
type State struct {
	PID int `json:"pid"`
	// Listen is the client traffic address (host:port).
	Listen string `json:"listen"`
	// Admin is the admin API address (host:port).
	Admin string `json:"admin"`
	// ListenFD is the traffic socket's file descriptor in the process, so a control plane
	// that adopts it can take a copy (pidfd_getfd) and keep the socket across restarts.
	ListenFD int `json:"listenFD,omitempty"`
}

// ReadState reads the state file of dataDir; os.ErrNotExist when there is none.
func ReadState(dataDir string) (State, error) {
	var s State
	b, err := os.ReadFile(filepath.Join(dataDir, StateFile))
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("parse %s: %w", StateFile, err)
	}
	return s, nil
}

// writeState writes the state file atomically (temp file + rename) so a reader never sees
// half of it.
func writeState(dataDir string, s State) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	tmp := filepath.Join(dataDir, StateFile+".tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	return os.Rename(tmp, filepath.Join(dataDir, StateFile))
}
