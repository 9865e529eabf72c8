package cli

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/shipsafe/shipsafe/data/pneumoniamnist"
	"github.com/shipsafe/shipsafe/internal/detector/model"
	"github.com/shipsafe/shipsafe/models"
)

// newRepackageCmd re-exports an artifact under a new version with a changed serving
// preprocessing. It exists to build v3, the deliberately bad release: the v2 network packaged
// by an exporter that assumes MONOCHROME1 scans (white = air) and inverts every pixel before the
// network sees it, while the network was trained on MONOCHROME2 (black = air) pixels. The weights
// are untouched; the val metrics are recomputed as the artifact really serves.
func newRepackageCmd() *cobra.Command {
	var from, version, out string
	var invert bool
	cmd := &cobra.Command{
		Use:     "repackage",
		Short:   "Re-export an artifact under a new version with a different serving preprocessing (builds the bad v3)",
		Example: `  detector repackage --from v2 --version v3 --invert-input --out models/v3.ssmodel`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			src, err := models.Load(from)
			if err != nil {
				return err
			}
			data, wantSum, err := artifactBytes(from)
			if err != nil {
				return err
			}
			meta, params, err := model.Decode(data, wantSum)
			if err != nil {
				return err
			}
			meta.Version = version
			meta.Preprocess.Invert = invert
			if invert {
				meta.Description = src.Meta.Description + "; serving inverts pixels (MONOCHROME1 assumption)"
				meta.Training.Notes = "DELIBERATELY BAD RELEASE: the " + src.Meta.Version + " network (sha256 " + src.SHA256 +
					") re-exported with pixel inversion at serving; it was trained on non-inverted pixels"
			}
			meta.Training.Command = "detector repackage " + strings.Join(os.Args[min(len(os.Args), 2+argOffset(os.Args)):], " ")
			imgs, labels, err := pneumoniamnist.Val()
			if err != nil {
				return err
			}
			art, err := model.Encode(meta, params)
			if err != nil {
				return err
			}
			m, err := model.Load(art, "")
			if err != nil {
				return err
			}
			probs := make([]float64, len(imgs))
			for i, img := range imgs {
				probs[i] = m.PredictUint8(img, nil).Probability
			}
			meta.ValMetrics = model.Evaluate(probs, labels, meta.Threshold)
			if art, err = model.Encode(meta, params); err != nil {
				return err
			}
			if out == "" {
				out = version + ".ssmodel"
			}
			if err := os.WriteFile(out, art, 0o644); err != nil {
				return fmt.Errorf("write artifact: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "val %s\nwrote %s (%d bytes, sha256 %s)\n", meta.ValMetrics, out, len(art), model.Digest(art))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&from, "from", "v2", "source artifact: embedded version or path")
	f.StringVar(&version, "version", "v3", "version of the new artifact")
	f.BoolVar(&invert, "invert-input", true, "invert pixels (255-p) at serving")
	f.StringVar(&out, "out", "", "artifact path to write (default <version>.ssmodel)")
	return cmd
}

// artifactBytes returns the raw artifact for an embedded version or a path, and the digest the
// manifest pins (empty for a path).
func artifactBytes(ref string) ([]byte, string, error) {
	for _, n := range models.Names() {
		if n == ref {
			return models.Open(ref)
		}
	}
	data, err := os.ReadFile(ref)
	if err != nil {
		return nil, "", fmt.Errorf("read %q: %w", ref, err)
	}
	return data, "", nil
}
