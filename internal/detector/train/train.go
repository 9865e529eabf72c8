// Package train fits the detector's networks with GoMLX (pure-Go "simplego" backend) and exports
// them as shipsafe model artifacts. Training is seeded: the same Config gives the same artifact.
package train

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"time"

	"github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	mlctx "github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/layers"
	"github.com/gomlx/gomlx/pkg/ml/layers/activations"
	gtrain "github.com/gomlx/gomlx/pkg/ml/train"
	"github.com/gomlx/gomlx/pkg/ml/train/losses"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"

	"github.com/shipsafe/shipsafe/internal/detector/model"
)

// Config is one training run.
type Config struct {
	Version      string // artifact version, e.g. "v2"
	Architecture string // logreg | cnn
	Epochs       int
	BatchSize    int
	LearningRate float64
	WeightDecay  float64
	Dropout      float64
	Augment      bool
	Seed         int64
	// TrainLimit, if > 0, uses only the first TrainLimit training images (tests).
	TrainLimit int
	// Command is recorded in the artifact as the way to reproduce it.
	Command string
	Log     io.Writer
}

// Data is the labelled input of a run: raw 0-255 pixels, ImageSize per image.
type Data struct {
	TrainImages [][]uint8
	TrainLabels []uint8
	ValImages   [][]uint8
	ValLabels   []uint8
	File        string // provenance, recorded in the artifact
	SHA256      string
}

// Result is a trained model: the artifact bytes and what it recorded.
type Result struct {
	Artifact []byte
	Meta     model.Metadata
	Epoch    int // epoch (1-based) whose weights were kept: best val ROC AUC
}

// SHA256 is the digest of the artifact file.
func (r Result) SHA256() string { return model.Digest(r.Artifact) }

// Run trains cfg.Architecture on data and returns the artifact of the epoch with the best val
// ROC AUC, with its threshold set for balanced accuracy on val.
func Run(ctx context.Context, cfg Config, data Data) (Result, error) {
	arch, err := LookupArchitecture(cfg.Architecture)
	if err != nil {
		return Result{}, err
	}
	if cfg.Epochs <= 0 || cfg.BatchSize <= 0 || cfg.LearningRate <= 0 {
		return Result{}, fmt.Errorf("epochs %d, batch size %d and learning rate %v must all be > 0", cfg.Epochs, cfg.BatchSize, cfg.LearningRate)
	}
	log := cfg.Log
	if log == nil {
		log = io.Discard
	}
	trainImgs, trainLabels := data.TrainImages, data.TrainLabels
	if cfg.TrainLimit > 0 && cfg.TrainLimit < len(trainImgs) {
		trainImgs, trainLabels = trainImgs[:cfg.TrainLimit], trainLabels[:cfg.TrainLimit]
	}
	if len(trainImgs) < cfg.BatchSize {
		return Result{}, fmt.Errorf("batch size %d is larger than the %d training images", cfg.BatchSize, len(trainImgs))
	}
	pre := standardisation(trainImgs)

	// ops_sequential: run graph ops one at a time (each op still uses the worker pool inside).
	// The default may run independent ops concurrently, and in GoMLX v0.26.0 that path has data
	// races (reported by -race in executeNode); sequential execution is race-free and deterministic.
	backend, err := simplego.New("ops_sequential")
	if err != nil {
		return Result{}, fmt.Errorf("start GoMLX simplego backend: %w", err)
	}
	defer backend.Finalize()
	gctx := mlctx.New()
	if err := gctx.SetRNGStateFromSeed(cfg.Seed); err != nil {
		return Result{}, fmt.Errorf("seed GoMLX RNG: %w", err)
	}
	opt := optimizers.Adam().LearningRate(cfg.LearningRate).WeightDecay(cfg.WeightDecay).Done()
	trainer := gtrain.NewTrainer(backend, gctx, modelGraph(arch, cfg.Dropout), losses.BinaryCrossentropyLogits, opt, nil, nil)

	rng := rand.New(rand.NewPCG(uint64(cfg.Seed), 0x5eed))
	order := make([]int, len(trainImgs))
	for i := range order {
		order[i] = i
	}
	steps := len(trainImgs) / cfg.BatchSize // drop the ragged tail: one compiled graph shape
	xs := make([]float32, cfg.BatchSize*model.ImageSize)
	ys := make([]float32, cfg.BatchSize)
	raw := make([]float32, model.ImageSize)

	var best Result
	bestAUC := -1.0
	for epoch := 1; epoch <= cfg.Epochs; epoch++ {
		start := time.Now()
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		var lossSum float64
		for s := range steps {
			if err := ctx.Err(); err != nil {
				return Result{}, err
			}
			for b := range cfg.BatchSize {
				idx := order[s*cfg.BatchSize+b]
				dst := xs[b*model.ImageSize : (b+1)*model.ImageSize]
				if cfg.Augment {
					augment(rng, trainImgs[idx], raw)
				} else {
					for i, p := range trainImgs[idx] {
						raw[i] = float32(p)
					}
				}
				for i, v := range raw {
					dst[i] = pre.Apply(v)
				}
				ys[b] = float32(trainLabels[idx])
			}
			x := tensors.FromFlatDataAndDimensions(xs, cfg.BatchSize, model.ImageSide, model.ImageSide, 1)
			y := tensors.FromFlatDataAndDimensions(ys, cfg.BatchSize, 1)
			out, err := trainer.TrainStep(nil, []*tensors.Tensor{x}, []*tensors.Tensor{y})
			if err != nil {
				return Result{}, fmt.Errorf("epoch %d step %d: %w", epoch, s, err)
			}
			if len(out) > 0 {
				if l, err := tensors.CopyFlatData[float32](out[0]); err == nil && len(l) > 0 {
					lossSum += float64(l[0])
				}
			}
		}
		params, err := exportParams(gctx, arch)
		if err != nil {
			return Result{}, err
		}
		probs, err := predictAll(arch.Layers, pre, params, data.ValImages)
		if err != nil {
			return Result{}, err
		}
		auc := model.AUC(probs, data.ValLabels)
		fmt.Fprintf(log, "epoch %3d  loss %.4f  val_auc %.4f  (%s)\n", epoch, lossSum/float64(steps), auc, time.Since(start).Round(time.Millisecond))
		if auc <= bestAUC {
			continue
		}
		bestAUC = auc
		meta := model.Metadata{Layers: arch.Layers, Preprocess: pre, Architecture: arch.Name, Description: arch.Description}
		meta.Threshold = model.BalancedThreshold(probs, data.ValLabels)
		meta.ValMetrics = model.Evaluate(probs, data.ValLabels, meta.Threshold)
		art, err := finish(&meta, params, cfg, data, len(trainImgs))
		if err != nil {
			return Result{}, err
		}
		best = Result{Artifact: art, Meta: meta, Epoch: epoch}
	}
	fmt.Fprintf(log, "kept epoch %d: threshold %.4f (balanced on val)\nval %s\n", best.Epoch, best.Meta.Threshold, best.Meta.ValMetrics)
	return best, nil
}

// finish fills the provenance metadata and encodes the artifact.
func finish(meta *model.Metadata, params []float32, cfg Config, data Data, nTrain int) ([]byte, error) {
	meta.Name = "pneumonia-detector"
	meta.Version = cfg.Version
	meta.Labels = []string{"normal", "pneumonia"}
	meta.Input = model.InputSpec{Name: "image", Datatypes: []string{"UINT8", "FP32"}, Shape: []int{-1, model.ImageSide, model.ImageSide}, Range: [2]float64{0, 255}}
	meta.ParamCount = len(params)
	note := fmt.Sprintf("%d train images", nTrain)
	meta.Training = model.TrainingInfo{
		DataFile: data.File, DataSHA256: data.SHA256, Notes: note, Seed: cfg.Seed,
		Epochs: cfg.Epochs, BatchSize: cfg.BatchSize,
		Optimizer: fmt.Sprintf("adam lr=%g weight_decay=%g dropout=%g augment=%t", cfg.LearningRate, cfg.WeightDecay, cfg.Dropout, cfg.Augment),
		Library:   "GoMLX v0.26.0 (simplego backend)",
		Command:   cfg.Command,
	}
	return model.Encode(*meta, params)
}

// predictAll runs the exported forward pass over images; it is also the check that training and
// serving compute the same function.
func predictAll(layers []model.Layer, pre model.Preprocess, params []float32, images [][]uint8) ([]float64, error) {
	net, err := model.NewNetwork(layers, params)
	if err != nil {
		return nil, fmt.Errorf("build forward pass: %w", err)
	}
	x := make([]float32, model.ImageSize)
	probs := make([]float64, len(images))
	for i, img := range images {
		for j, p := range img {
			x[j] = pre.Apply(float32(p))
		}
		probs[i] = model.Sigmoid(net.Logit(x))
	}
	return probs, nil
}

// standardisation computes the pixel mean and standard deviation of the training images.
func standardisation(images [][]uint8) model.Preprocess {
	var sum, sq float64
	var n int
	for _, img := range images {
		for _, p := range img {
			v := float64(p) / 255
			sum += v
			sq += v * v
			n++
		}
	}
	mean := sum / float64(n)
	std := math.Sqrt(max(sq/float64(n)-mean*mean, 1e-12))
	return model.Preprocess{Scale: 1.0 / 255, Mean: round6(mean), Std: round6(std)}
}

func round6(v float64) float64 { return math.Round(v*1e6) / 1e6 }

// modelGraph builds arch as a GoMLX graph; variable scopes are /model/l<i> so exportParams can
// find every layer's weights.
func modelGraph(arch Architecture, dropout float64) gtrain.ModelFn {
	return func(ctx *mlctx.Context, _ any, inputs []*graph.Node) []*graph.Node {
		x := inputs[0]
		batch := x.Shape().Dimensions[0]
		ctx = ctx.In("model")
		for i, l := range arch.Layers {
			lctx := ctx.In(fmt.Sprintf("l%d", i))
			switch l.Op {
			case "conv2d":
				x = conv2dIm2col(lctx, x, l.Out, l.Kernel, l.Stride)
			case "relu":
				x = activations.Relu(x)
			case "flatten":
				x = graph.Reshape(x, batch, -1)
			case "dense":
				x = layers.DropoutStatic(lctx, x, dropout)
				x = layers.Dense(lctx, x, true, l.Out)
			}
		}
		return []*graph.Node{x}
	}
}

// exportParams copies the trained variables out in artifact order.
func exportParams(gctx *mlctx.Context, arch Architecture) ([]float32, error) {
	var params []float32
	for i, l := range arch.Layers {
		var scope string
		switch l.Op {
		case "conv2d":
			scope = fmt.Sprintf("/model/l%d", i)
		case "dense":
			scope = fmt.Sprintf("/model/l%d/dense", i)
		default:
			continue
		}
		for _, name := range []string{"weights", "biases"} {
			v := gctx.InspectVariable(scope, name)
			if v == nil {
				return nil, fmt.Errorf("export: variable %s/%s not found", scope, name)
			}
			t, err := v.Value()
			if err != nil {
				return nil, fmt.Errorf("export %s/%s: %w", scope, name, err)
			}
			flat, err := tensors.CopyFlatData[float32](t)
			if err != nil {
				return nil, fmt.Errorf("export %s/%s: %w", scope, name, err)
			}
			params = append(params, flat...)
		}
	}
	if len(params) == 0 {
		return nil, errors.New("export: no parameters")
	}
	return params, nil
}
