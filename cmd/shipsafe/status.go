package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"
)

func newStatusCmd(client clientFunc) *cobra.Command {
	var watch bool
	cmd := &cobra.Command{
		Use:   "status NAME",
		Short: "Show a rollout's step, traffic, replicas and analysis (--watch: live)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client(cmd)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			f, isFile := out.(*os.File)
			tty := isFile && term.IsTerminal(int(f.Fd()))
			last := ""
			for {
				in, err := readStatus(cmd.Context(), c, args[0])
				if err != nil {
					return err
				}
				text := renderStatus(in)
				switch {
				case !watch:
					fmt.Fprint(out, text)
					return nil
				case tty:
					fmt.Fprint(out, "\x1b[H\x1b[2J"+in.now.Format("15:04:05")+"\n"+text)
				case text != last:
					// Not a terminal: print plain blocks, only when something changed.
					fmt.Fprint(out, "--- "+in.now.Format(time.RFC3339)+"\n"+text)
				}
				last = text
				select {
				case <-cmd.Context().Done():
					return nil
				case <-time.After(time.Second):
				}
			}
		},
	}
	cmd.Flags().BoolVarP(&watch, "watch", "w", false, "refresh every second until interrupted")
	return cmd
}

func bar(pct, width int) string {
	n := pct * width / 100
	return "[" + strings.Repeat("#", n) + strings.Repeat(".", width-n) + "]"
}

// readStatus reads a rollout and, when a measurement has no value, its analysis runs.
func readStatus(ctx context.Context, c *apiClient, name string) (statusInput, error) {
	in := statusInput{now: time.Now()}
	path := "/api/v1/rollouts/" + url.PathEscape(name)
	if err := c.do(ctx, "GET", path, nil, &in.view); err != nil {
		return in, err
	}
	if needsRuns(in.view) {
		// Best effort: without the runs, "no data" is shown without its reason.
		_ = c.do(ctx, "GET", path+"/analysisruns", nil, &in.runs)
	}
	return in, nil
}
