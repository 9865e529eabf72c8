package main

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/shipsafe/shipsafe/api/v1alpha1/manifest"
)

// newValidateCmd checks manifests without deploying anything: strict decoding, every rule,
// and references between rollouts and analysis templates across the given files.
func newValidateCmd() *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "validate -f FILE|DIR|-",
		Short: "Check Rollout, AnalysisTemplate and Deployment manifests",
		Long: "validate decodes every document strictly (unknown fields are errors) and checks every rule,\n" +
			"listing each problem with its file, line and field path. Exit status 0: valid; 1: invalid;\n" +
			"2: usage error.\n" +
			"A directory is read recursively (.yaml, .yml, .json); '-' reads standard input.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if path == "" {
				return &exitError{code: 2, err: errors.New("validate: -f FILE|DIR|- is required")}
			}
			return runValidate(path, cmd.InOrStdin(), cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVarP(&path, "filename", "f", "", "manifest file, directory, or - for standard input")
	return cmd
}

func runValidate(path string, stdin io.Reader, out io.Writer) error {
	res, err := manifest.LoadPath(path, stdin)
	var list manifest.ErrorList
	if err != nil && !errors.As(err, &list) {
		return &exitError{code: 1, err: fmt.Errorf("validate: %w", err)}
	}
	for _, s := range res.Skipped {
		fmt.Fprintf(out, "note: %s\n", s.Error())
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(out, "warning: %s\n", w.Error())
	}
	for _, e := range list {
		fmt.Fprintln(out, e.Error())
	}
	if len(list) > 0 {
		return &exitError{code: 1, err: fmt.Errorf("validate: %d problem(s) in %s", len(list), path)}
	}
	fmt.Fprintln(out, validSummary(res))
	return nil
}

// validSummary is the closing line of a valid run: what was read, and what was skipped.
func validSummary(res manifest.LoadResult) string {
	skipped := ""
	if n := len(res.Skipped); n > 0 {
		skipped = fmt.Sprintf("; %d document(s) of other kinds skipped (see the notes above)", n)
	}
	if len(res.Objects) == 0 {
		return fmt.Sprintf("valid: no Rollout, AnalysisTemplate or Deployment in %d file(s)%s", len(res.Files), skipped)
	}
	return fmt.Sprintf("valid: %d object(s) in %d file(s): %s%s", len(res.Objects), len(res.Files), summarize(res.Objects), skipped)
}

// summarize counts objects by kind, e.g. "2 Rollout, 3 AnalysisTemplate".
func summarize(objs []manifest.Object) string {
	counts := map[string]int{}
	for _, o := range objs {
		kind := o.Kind
		if o.ConvertedFrom != "" {
			kind = "Deployment (as Rollout)"
		}
		counts[kind]++
	}
	kinds := make([]string, 0, len(counts))
	for k := range counts {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	parts := make([]string, len(kinds))
	for i, k := range kinds {
		parts[i] = fmt.Sprintf("%d %s", counts[k], k)
	}
	return strings.Join(parts, ", ")
}
