package controlplane

import (
	"github.com/shipsafe/shipsafe/api/v1alpha1"
	"github.com/shipsafe/shipsafe/internal/progress"
	"github.com/shipsafe/shipsafe/internal/store"
)

// loaded is a stored rollout decoded, with what a pass decided to audit.
type loaded struct {
	row     store.Rollout
	rollout *v1alpha1.Rollout
	rec     progress.Record
	audits  []store.AuditEntry
}

func decodeRow(row store.Rollout) (*loaded, error) {
	ro, rec, err := progress.Decode(row)
	if err != nil {
		return nil, err
	}
	return &loaded{row: row, rollout: ro, rec: rec}, nil
}

// modelName is the model a revision serves, for display.
func (cp *ControlPlane) modelName(l *loaded, hash string) string {
	return cp.opts.Model(l.rec.Templates[hash]).Name
}

// modelDigest is the model a revision serves with its artifact digest, for the audit log
// and history ("v2@sha256:...").
func (cp *ControlPlane) modelDigest(l *loaded, hash string) string {
	return cp.opts.Model(l.rec.Templates[hash]).String()
}
