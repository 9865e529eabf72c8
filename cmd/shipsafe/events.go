package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/shipsafe/shipsafe/internal/apiservice"
)

// reconnectDelay is how long `events -f` waits before reconnecting a dropped stream.
const reconnectDelay = time.Second

// newEventsCmd prints the stored events (engine decisions, command outcomes, analysis
// verdicts), which otherwise only `up`'s log shows; -f follows them live.
func newEventsCmd(client clientFunc) *cobra.Command {
	var follow, asJSON bool
	cmd := &cobra.Command{
		Use:   "events [NAME]",
		Short: "Show the events of a rollout, or of every rollout (-f: follow until interrupted)",
		Long: "events prints what the engine did and why: steps, weights, analysis verdicts, and whether\n" +
			"each command was applied or rejected. Events are stored, so they survive a restart of\n" +
			"shipsafe up. With -f it keeps printing new events until interrupted, reconnecting if the\n" +
			"API goes away.",
		Example: "  shipsafe events web\n  shipsafe events -f",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client(cmd)
			if err != nil {
				return err
			}
			name := ""
			if len(args) == 1 {
				name = args[0]
			}
			p := eventPrinter{w: cmd.OutOrStdout(), json: asJSON, all: name == ""}
			if !follow {
				evs, err := c.listEvents(cmd.Context(), name, 0)
				if err != nil {
					return err
				}
				for _, e := range evs {
					p.print(e)
				}
				return nil
			}
			return followEvents(cmd.Context(), c, name, cmd.ErrOrStderr(), reconnectDelay, p.print)
		},
	}
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new events until interrupted")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print each event as one JSON object per line")
	return cmd
}

// followEvents streams events until ctx is done; a stream that drops after it was up is
// reconnected from the last event seen, so nothing is missed or printed twice.
func followEvents(ctx context.Context, c *apiClient, name string, stderr io.Writer, retry time.Duration, print func(apiservice.Event)) error {
	var after int64
	connected := false
	for {
		last, err := c.streamEvents(ctx, name, after, func(e apiservice.Event) error {
			connected = true
			print(e)
			return nil
		})
		if last > after {
			connected = true
		}
		after = last
		if ctx.Err() != nil {
			return nil // interrupted: the normal end of -f
		}
		var ee *exitError
		if !connected || errors.As(err, &ee) {
			return err
		}
		fmt.Fprintf(stderr, "events: %v; reconnecting in %v\n", err, retry)
		t := time.NewTimer(retry)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// eventPrinter prints events as aligned text lines or JSON lines.
type eventPrinter struct {
	w    io.Writer
	json bool
	// all adds the rollout's name (events of every rollout are interleaved).
	all bool
}

func (p eventPrinter) print(e apiservice.Event) {
	if p.json {
		enc := newJSONEncoder(p.w)
		enc.SetIndent("", "")
		_ = enc.Encode(e)
		return
	}
	var b strings.Builder
	b.WriteString(e.Time.Local().Format("2006-01-02 15:04:05.000"))
	if p.all {
		fmt.Fprintf(&b, "  %-16s", e.Rollout)
	}
	fmt.Fprintf(&b, "  %-7s  %-22s  %s\n", orDash(e.Type), e.Reason, e.Message)
	_, _ = io.WriteString(p.w, b.String())
}
