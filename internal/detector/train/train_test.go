package train

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/shipsafe/shipsafe/data/pneumoniamnist"
	"github.com/shipsafe/shipsafe/internal/detector/model"
)

// TestTrainingIsReproducible trains the CNN for one short epoch on a small subset twice with
// the same seed: the artifacts must be byte-identical, load, and carry the run's metadata.
func TestTrainingIsReproducible(t *testing.T) {
	tr, err := pneumoniamnist.LoadSplit("train")
	if err != nil {
		t.Fatal(err)
	}
	val, err := pneumoniamnist.LoadSplit("val")
	if err != nil {
		t.Fatal(err)
	}
	data := Data{TrainImages: tr.Images, TrainLabels: tr.Labels, ValImages: val.Images[:32], ValLabels: val.Labels[:32],
		File: "test", SHA256: pneumoniamnist.SHA256}
	cfg := Config{Version: "vt", Architecture: "cnn", Epochs: 1, BatchSize: 16, LearningRate: 2e-3,
		Dropout: 0.3, Augment: true, Seed: 7, TrainLimit: 32}
	var log bytes.Buffer
	cfg.Log = &log
	a, err := Run(context.Background(), cfg, data)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Log = nil
	b, err := Run(context.Background(), cfg, data)
	if err != nil {
		t.Fatal(err)
	}
	if a.SHA256() != b.SHA256() {
		t.Errorf("same seed, different artifacts: %s vs %s", a.SHA256(), b.SHA256())
	}
	m, err := model.Load(a.Artifact, a.SHA256())
	if err != nil {
		t.Fatal(err)
	}
	if m.Meta.Version != "vt" || m.Meta.Training.Seed != 7 || m.Meta.ValMetrics.N != 32 || m.Meta.ParamCount == 0 {
		t.Errorf("metadata: %+v", m.Meta)
	}
	for _, want := range []string{"val_auc", "balanced_accuracy=", "roc_auc=", "sensitivity=", "specificity="} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("training log lacks %q:\n%s", want, log.String())
		}
	}
}

func TestRunRejectsBadConfig(t *testing.T) {
	if _, err := Run(context.Background(), Config{Architecture: "resnet"}, Data{}); err == nil || !strings.Contains(err.Error(), "unknown") {
		t.Errorf("unknown arch: %v", err)
	}
	if _, err := Run(context.Background(), Config{Architecture: "cnn", Epochs: 1, BatchSize: 0, LearningRate: 1}, Data{}); err == nil {
		t.Error("zero batch accepted")
	}
}
