package dataplane

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/shipsafe/shipsafe/internal/gateway"
)

// RoutesFile is the name, inside the data dir, of the route table a data plane starts
// with: the data plane writes every table it accepts there, and the supervisor writes the
// control plane's desired table there before a restart, so a restarted data plane serves
// the right routes from its first accepted connection.
const RoutesFile = "dataplane-routes.json"

// ReadRoutes reads the stored route table of dataDir; fs.ErrNotExist when there is none.
func ReadRoutes(dataDir string) (gateway.RouteTable, error) {
	var t gateway.RouteTable
	b, err := os.ReadFile(filepath.Join(dataDir, RoutesFile))
	if err != nil {
		return t, err
	}
	if err := json.Unmarshal(b, &t); err != nil {
		return t, fmt.Errorf("parse %s: %w", RoutesFile, err)
	}
	return t, nil
}

// WriteRoutes stores t atomically (temp file + rename): a crash mid-write leaves the
// previous table, never half of one. No fsync: it guards against a process crash, and
// after a machine crash the control plane pushes its table again anyway.
func WriteRoutes(dataDir string, t gateway.RouteTable) error {
	b, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("encode route table: %w", err)
	}
	tmp := filepath.Join(dataDir, RoutesFile+".tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, filepath.Join(dataDir, RoutesFile)); err != nil {
		return fmt.Errorf("store %s: %w", RoutesFile, err)
	}
	return nil
}

// removeRoutes forgets the stored table (a data plane stopped on purpose starts empty).
func removeRoutes(dataDir string) error {
	err := os.Remove(filepath.Join(dataDir, RoutesFile))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", RoutesFile, err)
	}
	return nil
}
