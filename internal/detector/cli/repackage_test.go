package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shipsafe/shipsafe/internal/detector/model"
	"github.com/shipsafe/shipsafe/models"
)

// TestRepackageBuildsTheShippedV3 rebuilds v3 from the embedded v2 and checks it is byte-for-byte
// the shipped v3 artifact, and that it really is worse.
func TestRepackageBuildsTheShippedV3(t *testing.T) {
	out := filepath.Join(t.TempDir(), "v3.ssmodel")
	cmd := NewCommand()
	var stdout bytes.Buffer
	cmd.SetOut(&stdout)
	cmd.SetArgs([]string{"repackage", "--from", "v2", "--version", "v3", "--invert-input", "--out", out})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.Load(got, "")
	if err != nil {
		t.Fatal(err)
	}
	v2, _ := models.Load("v2")
	if !m.Meta.Preprocess.Invert || m.Meta.Version != "v3" || !strings.Contains(m.Meta.Training.Notes, "DELIBERATELY BAD") {
		t.Errorf("v3 metadata: %+v", m.Meta)
	}
	if m.Meta.ValMetrics.Accuracy > v2.Meta.ValMetrics.Accuracy-0.2 {
		t.Errorf("v3 val accuracy %v is not clearly below v2's %v", m.Meta.ValMetrics.Accuracy, v2.Meta.ValMetrics.Accuracy)
	}
	// The recorded command depends on os.Args, so compare everything but the metadata command.
	shipped, _ := models.Load("v3")
	if shipped.Meta.ValMetrics != m.Meta.ValMetrics || shipped.Meta.Threshold != m.Meta.Threshold {
		t.Errorf("rebuilt v3 differs from the shipped one: %+v vs %+v", m.Meta.ValMetrics, shipped.Meta.ValMetrics)
	}
}
