package embedded

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/shipsafe/shipsafe/internal/flags"
	"github.com/shipsafe/shipsafe/internal/server"
	"github.com/shipsafe/shipsafe/internal/store"
)

// FlagsFile is the name, in the data dir, of the feature-flag definitions. The control
// plane's flag API writes it; the data plane watches it and selects models by it.
const FlagsFile = "flags.json"

// openFlags loads (creating if needed) the data dir's flag file into a store whose changes
// are audited in SQLite and written back to the file. initial, when set, replaces the file
// first (shipsafe up --flags).
func openFlags(ctx context.Context, dir, initial string, st store.Audit) (*flags.Store, error) {
	path := filepath.Join(dir, FlagsFile)
	if initial != "" {
		b, err := os.ReadFile(initial)
		if err != nil {
			return nil, fmt.Errorf("read --flags file: %w", err)
		}
		if _, err := flags.Compile(b, flags.CompileOptions{}); err != nil {
			return nil, fmt.Errorf("--flags %s: %w", initial, err)
		}
		if err := os.WriteFile(path, b, 0o600); err != nil {
			return nil, err
		}
	} else if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		if err := os.WriteFile(path, []byte(`{"flags": {}}`+"\n"), 0o600); err != nil {
			return nil, err
		}
	}
	fl := flags.NewStore(flags.StoreOptions{Audit: flagAudit{st}, Persist: flags.FilePersister(path)})
	if _, err := flags.LoadFile(ctx, fl, path); err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	return fl, nil
}

// flagAudit records flag changes in the store's audit log.
type flagAudit struct{ st store.Audit }

func (a flagAudit) Record(ctx context.Context, actor, action, target, detail string) error {
	d, _ := json.Marshal(map[string]string{"detail": detail})
	_, err := a.st.Audit(ctx, store.AuditEntry{Actor: actor, Action: action, Target: target, Detail: d})
	return err
}

// mountFlags serves OFREP and the flag change API beside the rollout API, on its listener
// and behind its Host check and body timeout.
func mountFlags(api *server.Server, fl *flags.Store, token string) {
	fh := flags.NewHandler(flags.HandlerOptions{Store: fl, AdminTokens: map[string]string{token: "token"}})
	for _, p := range []string{"/ofrep/", "/api/v1/flags", "/api/v1/flags/"} {
		api.Mount(p, fh)
	}
}
