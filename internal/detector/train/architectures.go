package train

import (
	"fmt"

	"github.com/shipsafe/shipsafe/internal/detector/model"
)

// Architecture names a network the trainer can build; Layers is what the artifact records.
type Architecture struct {
	Name        string
	Description string
	Layers      []model.Layer
}

// architectures are the networks the shipped versions use.
//
// The CNN uses strided convolutions instead of pooling and small channel counts so that one
// image costs about 120k multiply-adds: the per-image latency budget is 100 µs on one core.
func architectures() map[string]Architecture {
	return map[string]Architecture{
		"logreg": {
			Name:        "logreg",
			Description: "logistic regression on the 784 standardised pixels",
			Layers:      []model.Layer{{Op: "flatten"}, {Op: "dense", In: 784, Out: 1}},
		},
		"cnn": {
			Name:        "cnn",
			Description: "CNN: conv5x5/2(8)-relu, conv3x3/2(16)-relu, dense(32)-relu, dense(1); dropout, augmentation",
			Layers: []model.Layer{
				{Op: "conv2d", In: 1, Out: 8, Kernel: 5, Stride: 2}, {Op: "relu"},
				{Op: "conv2d", In: 8, Out: 16, Kernel: 3, Stride: 2}, {Op: "relu"},
				{Op: "flatten"},
				{Op: "dense", In: 7 * 7 * 16, Out: 32}, {Op: "relu"},
				{Op: "dense", In: 32, Out: 1},
			},
		},
	}
}

// LookupArchitecture returns the named architecture.
func LookupArchitecture(name string) (Architecture, error) {
	a, ok := architectures()[name]
	if !ok {
		return Architecture{}, fmt.Errorf("architecture %q: unknown (want logreg or cnn)", name)
	}
	return a, nil
}
