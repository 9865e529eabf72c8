package main

import (
	"fmt"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/shipsafe/shipsafe/internal/apiservice"
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
			tty := term.IsTerminal(int(os.Stdout.Fd()))
			last := ""
			for {
				var v apiservice.RolloutView
				if err := c.do(cmd.Context(), "GET", "/api/v1/rollouts/"+url.PathEscape(args[0]), nil, &v); err != nil {
					return err
				}
				text := renderStatus(v)
				switch {
				case !watch:
					fmt.Print(text)
					return nil
				case tty:
					fmt.Print("\x1b[H\x1b[2J" + time.Now().Format("15:04:05") + "\n" + text)
				case text != last:
					// Not a terminal: print plain blocks, only when something changed.
					fmt.Print("--- " + time.Now().Format(time.RFC3339) + "\n" + text)
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

// renderStatus draws a rollout: phase, step, a weight bar per revision, replicas, analysis.
func renderStatus(v apiservice.RolloutView) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s)  phase %s  step %s\n", v.Name, v.Strategy, v.Status.Phase, stepText(v))
	if v.Status.Message != "" {
		fmt.Fprintf(&b, "  %s\n", v.Status.Message)
	}
	for _, r := range v.Revisions {
		fmt.Fprintf(&b, "  %-11s %-7s %-4s %s %3d%%  replicas %d/%d ready", r.Hash, r.Role, r.Model, bar(int(r.Weight), 20), r.Weight, r.Ready, r.Desired)
		if r.Failed > 0 {
			fmt.Fprintf(&b, ", %d failing", r.Failed)
		}
		b.WriteString("\n")
	}
	for _, m := range v.Traffic.Mirrors {
		fmt.Fprintf(&b, "  shadow %s: %d%% of requests copied to %s (answers never returned)\n", m.Name, m.Percentage, m.Revision)
	}
	for _, h := range v.Traffic.HeaderRoutes {
		fmt.Fprintf(&b, "  header route %s → %s\n", h.Name, h.Revision)
	}
	for _, a := range v.Analysis {
		fmt.Fprintf(&b, "  analysis %s (%s): %s", a.Name, a.Kind, orDash(a.Phase))
		names := make([]string, 0, len(a.Latest))
		for m := range a.Latest {
			names = append(names, m)
		}
		sort.Strings(names)
		for _, m := range names {
			fmt.Fprintf(&b, "  %s=%s", m, shorten(a.Latest[m]))
		}
		b.WriteString("\n")
	}
	if v.RollbackCause != "" {
		fmt.Fprintf(&b, "  rolled back: %s\n", v.RollbackCause)
	}
	return b.String()
}

// shorten trims long measured values (vectors, JSON) for one status line.
func shorten(v string) string {
	if len(v) > 12 {
		return v[:11] + "…"
	}
	return v
}

func bar(pct, width int) string {
	n := pct * width / 100
	return "[" + strings.Repeat("#", n) + strings.Repeat(".", width-n) + "]"
}
