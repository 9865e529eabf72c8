package cli

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/shipsafe/shipsafe/data/pneumoniamnist"
	"github.com/shipsafe/shipsafe/internal/detector/train"
)

// recipes are the training settings of each shipped version; flags override them.
func recipes() map[string]train.Config {
	return map[string]train.Config{
		"v1": {Version: "v1", Architecture: "logreg", Epochs: 30, BatchSize: 64, LearningRate: 1e-3, WeightDecay: 1e-4, Seed: 1},
		"v2": {Version: "v2", Architecture: "cnn", Epochs: 30, BatchSize: 64, LearningRate: 2e-3, WeightDecay: 1e-4, Dropout: 0.3, Augment: true, Seed: 2},
	}
}

func newTrainCmd() *cobra.Command {
	var (
		version, out, arch string
		epochs, batch      int
		limit              int
		lr, wd, dropout    float64
		seed               int64
	)
	cmd := &cobra.Command{
		Use:   "train",
		Short: "Train a detector version on the embedded PneumoniaMNIST train split and write its artifact",
		Long: `Train a detector version on the embedded PneumoniaMNIST train split, select the epoch with
the best val ROC AUC, set the threshold for balanced accuracy on val, print the val metrics and
write the artifact. Seeded: the same flags give the same artifact.

  v1  logistic regression (baseline)
  v2  small CNN with augmentation and dropout
v3 is not trained: it is v2 re-exported with a serving preprocessing mismatch (see repackage).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, ok := recipes()[version]
			if !ok {
				return fmt.Errorf("--version %q: must be v1 or v2 (v3 is made with \"detector repackage\")", version)
			}
			flags := cmd.Flags()
			if flags.Changed("arch") {
				cfg.Architecture = arch
			}
			if flags.Changed("epochs") {
				cfg.Epochs = epochs
			}
			if flags.Changed("batch-size") {
				cfg.BatchSize = batch
			}
			if flags.Changed("lr") {
				cfg.LearningRate = lr
			}
			if flags.Changed("weight-decay") {
				cfg.WeightDecay = wd
			}
			if flags.Changed("dropout") {
				cfg.Dropout = dropout
			}
			if flags.Changed("seed") {
				cfg.Seed = seed
			}
			cfg.TrainLimit = limit
			cfg.Command = "detector train " + strings.Join(os.Args[min(len(os.Args), 2+argOffset(os.Args)):], " ")
			cfg.Log = cmd.OutOrStdout()
			trainSplit, err := pneumoniamnist.LoadSplit("train")
			if err != nil {
				return err
			}
			valSplit, err := pneumoniamnist.LoadSplit("val")
			if err != nil {
				return err
			}
			data := train.Data{
				TrainImages: trainSplit.Images, TrainLabels: trainSplit.Labels,
				ValImages: valSplit.Images, ValLabels: valSplit.Labels,
				File: "data/pneumoniamnist/" + pneumoniamnist.FileName, SHA256: pneumoniamnist.SHA256,
			}
			fmt.Fprintf(cmd.OutOrStdout(), "training %s: %+v\n", cfg.Version, cfg)
			res, err := train.Run(cmd.Context(), cfg, data)
			if err != nil {
				return fmt.Errorf("train %s: %w", version, err)
			}
			if out == "" {
				out = version + ".ssmodel"
			}
			if err := os.WriteFile(out, res.Artifact, 0o644); err != nil {
				return fmt.Errorf("write artifact: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s (%d bytes, sha256 %s)\n", out, len(res.Artifact), res.SHA256())
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&version, "version", "v2", "version recipe to train: v1 or v2")
	f.StringVar(&out, "out", "", "artifact path to write (default <version>.ssmodel)")
	f.StringVar(&arch, "arch", "", "override the recipe's architecture (logreg or cnn)")
	f.IntVar(&epochs, "epochs", 0, "override the recipe's epochs")
	f.IntVar(&batch, "batch-size", 0, "override the recipe's batch size")
	f.IntVar(&limit, "train-limit", 0, "use only the first N training images (quick checks)")
	f.Float64Var(&lr, "lr", 0, "override the recipe's learning rate")
	f.Float64Var(&wd, "weight-decay", 0, "override the recipe's weight decay")
	f.Float64Var(&dropout, "dropout", 0, "override the recipe's dropout rate")
	f.Int64Var(&seed, "seed", 0, "override the recipe's seed")
	return cmd
}

// argOffset is 1 when the command runs as "shipsafe detector train", so the recorded command
// starts after "train" either way.
func argOffset(args []string) int {
	if len(args) > 1 && args[1] == "detector" {
		return 1
	}
	return 0
}
