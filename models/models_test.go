package models

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shipsafe/shipsafe/data/pneumoniamnist"
)

func TestEmbeddedArtifactsLoadWithDigests(t *testing.T) {
	names := Names()
	if len(names) == 0 {
		t.Fatal("no embedded models")
	}
	imgs, labels, err := pneumoniamnist.Val()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		m, err := Load(n)
		if err != nil {
			t.Fatalf("Load(%q): %v", n, err)
		}
		if m.Meta.Version != n || m.Meta.Training.DataSHA256 != pneumoniamnist.SHA256 {
			t.Errorf("%s: metadata %+v", n, m.Meta)
		}
		// The recorded val accuracy must be what the artifact really does on val.
		correct := 0
		for i, img := range imgs {
			if m.PredictUint8(img, nil).Label == int(labels[i]) {
				correct++
			}
		}
		if acc := float64(correct) / float64(len(imgs)); acc != m.Meta.ValMetrics.Accuracy {
			t.Errorf("%s: val accuracy %v, metadata says %v", n, acc, m.Meta.ValMetrics.Accuracy)
		}
	}
}

func TestLoadFileRefusesCorruptAndTruncated(t *testing.T) {
	data, _, err := Open(Names()[0])
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	good := filepath.Join(dir, "good.ssmodel")
	os.WriteFile(good, data, 0o644)
	if _, err := Load(good); err != nil {
		t.Fatalf("good file: %v", err)
	}
	trunc := filepath.Join(dir, "trunc.ssmodel")
	os.WriteFile(trunc, data[:len(data)/2], 0o644)
	if _, err := Load(trunc); err == nil || !strings.Contains(err.Error(), "truncated or corrupt") {
		t.Errorf("truncated: %v", err)
	}
	bad := append([]byte(nil), data...)
	bad[100] ^= 1
	corrupt := filepath.Join(dir, "corrupt.ssmodel")
	os.WriteFile(corrupt, bad, 0o644)
	if _, err := Load(corrupt); err == nil || !strings.Contains(err.Error(), "truncated or corrupt") {
		t.Errorf("corrupt: %v", err)
	}
	if _, err := Load(filepath.Join(dir, "missing")); err == nil || !strings.Contains(err.Error(), "not one of") {
		t.Errorf("missing: %v", err)
	}
}
