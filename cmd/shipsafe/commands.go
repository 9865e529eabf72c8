package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/shipsafe/shipsafe/internal/apiservice"
)

// Event reasons the engine gives a command's outcome (internal/rollout/commands.go).
const (
	reasonCommandApplied  = "CommandApplied"
	reasonCommandRejected = "CommandRejected"
)

// commandHelp is each command's one-line help and, where it needs one, its long help.
func commandHelp(kind string) (short, long string) {
	switch kind {
	case "promote":
		return "Complete the current step (--full: skip every remaining step and analysis)", ""
	case "abort":
		return "Send all traffic back to stable and scale the new revision down", ""
	case "retry":
		return "Start an aborted rollout again from step 0", ""
	case "undo":
		return "Deploy the previous revision again (or --to-revision HASH), re-running the strategy's steps",
			"undo deploys the previous revision again (or --to-revision HASH). As with Argo Rollouts' undo,\n" +
				"this is a new update: the strategy's steps, pauses and analysis run again from step 0\n" +
				"(promote --full skips them). Only going back to the stable revision while an update is in\n" +
				"flight is immediate: that update ends."
	case "pause":
		return "Hold the rollout where it is", ""
	case "resume":
		return "Continue a paused rollout", ""
	}
	return kind, ""
}

// commandOpts are the flags of promote, abort, retry, undo, pause and resume.
type commandOpts struct {
	full    bool
	rev     string
	noWait  bool
	timeout time.Duration
}

// newCommandCmd sends a command and, unless --no-wait, waits for the engine's verdict: the
// API only queues commands, and the engine may reject one (abort on a Healthy rollout).
func newCommandCmd(kind string, client clientFunc) *cobra.Command {
	var o commandOpts
	short, long := commandHelp(kind)
	cmd := &cobra.Command{
		Use:   kind + " NAME",
		Short: short,
		Long:  long,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client(cmd)
			if err != nil {
				return err
			}
			return runCommand(cmd.Context(), c, cmd.OutOrStdout(), kind, args[0], o)
		},
	}
	if kind == "promote" {
		cmd.Flags().BoolVar(&o.full, "full", false, "skip all remaining steps and analysis")
	}
	if kind == "undo" {
		cmd.Flags().StringVar(&o.rev, "to-revision", "", "revision hash to go back to (default: the previous one)")
	}
	cmd.Flags().BoolVar(&o.noWait, "no-wait", false, "return once the command is queued, without waiting for the engine to apply or reject it")
	cmd.Flags().DurationVar(&o.timeout, "timeout", 30*time.Second, "how long to wait for the engine's verdict")
	return cmd
}

// commandReply is the API's answer to a command (id and eventsAfter: see
// apiservice.CommandReceipt).
type commandReply struct {
	Accepted    string `json:"accepted"`
	ID          string `json:"id"`
	EventsAfter int64  `json:"eventsAfter"`
}

func runCommand(ctx context.Context, c *apiClient, out io.Writer, kind, name string, o commandOpts) error {
	q := url.Values{}
	if o.full {
		q.Set("full", "true")
	}
	if o.rev != "" {
		q.Set("revision", o.rev)
	}
	path := "/api/v1/rollouts/" + url.PathEscape(name) + "/" + kind
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var reply commandReply
	if err := c.do(ctx, "POST", path, nil, &reply); err != nil {
		return err
	}
	what := kind
	if reply.Accepted != "" {
		what = reply.Accepted // promote --full is promote-full
	}
	switch {
	case o.noWait:
		fmt.Fprintf(out, "%s: %s queued (command %s); the outcome will be in `shipsafe events %s`\n", name, what, orDash(reply.ID), name)
		return nil
	case reply.ID == "":
		fmt.Fprintf(out, "%s: %s queued; this server does not say how it ended: see `shipsafe events %s`\n", name, what, name)
		return nil
	}
	wctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	verdict, err := waitForVerdict(wctx, c, name, reply)
	switch {
	case errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
		return fmt.Errorf("%s %s: queued as command %s, but the engine gave no verdict within --timeout %v: is shipsafe up running? see `shipsafe events %s`", what, name, reply.ID, o.timeout, name)
	case err != nil:
		return fmt.Errorf("%s %s: queued as command %s; waiting for its outcome: %w", what, name, reply.ID, err)
	case verdict.Reason == reasonCommandRejected:
		return &exitError{code: 1, err: fmt.Errorf("%s %s: rejected: %s", what, name, rejectionReason(verdict.Message, reply.ID))}
	}
	fmt.Fprintf(out, "%s: %s applied\n", name, what)
	return nil
}

// waitForVerdict follows the rollout's events after the command was queued until the
// engine applies or rejects it.
func waitForVerdict(ctx context.Context, c *apiClient, name string, reply commandReply) (apiservice.Event, error) {
	var verdict apiservice.Event
	_, err := c.streamEvents(ctx, name, reply.EventsAfter, func(e apiservice.Event) error {
		if (e.Reason == reasonCommandApplied || e.Reason == reasonCommandRejected) && strings.Contains(e.Message, "("+reply.ID+")") {
			verdict = e
			return errStopStream
		}
		return nil
	})
	return verdict, err
}

// rejectionReason extracts the engine's reason from "abort (ID): reason".
func rejectionReason(msg, id string) string {
	if _, reason, ok := strings.Cut(msg, "("+id+"): "); ok {
		return reason
	}
	return msg
}
