package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/shipsafe/shipsafe/internal/apiservice"
)

// clientFunc finds the API for a command (see apiFlags).
type clientFunc func(*cobra.Command) (*apiClient, error)

// newRolloutCmds returns the CLI commands that talk to a running `shipsafe up`.
func newRolloutCmds() []*cobra.Command {
	var af apiFlags
	client := af.client
	withDir := func(c *cobra.Command) *cobra.Command {
		af.bind(c)
		return c
	}
	apply := &cobra.Command{
		Use:   "apply -f FILE|DIR|-",
		Short: "Create or update rollouts and analysis templates",
		RunE: func(cmd *cobra.Command, _ []string) error {
			files, _ := cmd.Flags().GetStringArray("filename")
			if len(files) == 0 {
				return fmt.Errorf("-f: a file, directory or - is required")
			}
			var docs []string
			for _, f := range files {
				b, err := readManifests(f)
				if err != nil {
					return err
				}
				docs = append(docs, b...)
			}
			c, err := client(cmd)
			if err != nil {
				return err
			}
			var res struct{ Applied, Warnings []string }
			if err := c.do(cmd.Context(), "POST", "/api/v1/apply", []byte(strings.Join(docs, "\n---\n")), &res); err != nil {
				return err
			}
			for _, w := range res.Warnings {
				fmt.Fprintf(cmd.ErrOrStderr(), "warning: %s\n", w)
			}
			for _, a := range res.Applied {
				fmt.Fprintf(cmd.OutOrStdout(), "%s applied\n", a)
			}
			return nil
		},
	}
	apply.Flags().StringArrayP("filename", "f", nil, "manifest file, directory of .yaml/.yml/.json files, or - for stdin")

	get := &cobra.Command{
		Use:   "get [NAME]",
		Short: "List rollouts, or show one as JSON",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client(cmd)
			if err != nil {
				return err
			}
			if len(args) == 1 {
				var raw json.RawMessage
				if err := c.do(cmd.Context(), "GET", "/api/v1/rollouts/"+url.PathEscape(args[0]), nil, &raw); err != nil {
					return err
				}
				var v any
				_ = json.Unmarshal(raw, &v)
				return newJSONEncoder(cmd.OutOrStdout()).Encode(v)
			}
			var list struct{ Items []apiservice.RolloutView }
			if err := c.do(cmd.Context(), "GET", "/api/v1/rollouts", nil, &list); err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tSTRATEGY\tPHASE\tSTEP\tSTABLE\tCURRENT\tMESSAGE")
			for _, v := range list.Items {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", v.Name, v.Strategy, v.Status.Phase, stepText(v), v.Status.StableRS, v.Status.CurrentPodHash, v.Status.Message)
			}
			return tw.Flush()
		},
	}
	cmds := []*cobra.Command{withDir(apply), withDir(get), withDir(newDeleteCmd(client)), withDir(newStatusCmd(client)),
		withDir(newHistoryCmd(client)), withDir(newEventsCmd(client))}
	for _, kind := range []string{"promote", "abort", "retry", "undo", "pause", "resume"} {
		cmds = append(cmds, withDir(newCommandCmd(kind, client)))
	}
	return cmds
}

// newDeleteCmd removes a rollout; its worker then removes its routes and replicas.
func newDeleteCmd(client clientFunc) *cobra.Command {
	return &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a rollout: its routes and replicas are removed",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client(cmd)
			if err != nil {
				return err
			}
			if err := c.do(cmd.Context(), "DELETE", "/api/v1/rollouts/"+url.PathEscape(args[0]), nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "rollout %s deleted\n", args[0])
			return nil
		},
	}
}

func newHistoryCmd(client clientFunc) *cobra.Command {
	return &cobra.Command{
		Use:   "history NAME",
		Short: "Show the deployment history of a rollout",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client(cmd)
			if err != nil {
				return err
			}
			var hs []struct {
				Revision, ModelDigest, Strategy, Outcome string
				StartedAt, EndedAt                       string
				RequestsServed, Errors                   int64
				Detail                                   json.RawMessage
			}
			if err := c.do(cmd.Context(), "GET", "/api/v1/rollouts/"+url.PathEscape(args[0])+"/history", nil, &hs); err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "REVISION\tMODEL\tSTRATEGY\tOUTCOME\tREQUESTS\tERRORS\tSTARTED\tDETAIL")
			for _, h := range hs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\n", h.Revision, shortDigest(h.ModelDigest), h.Strategy, orDash(h.Outcome), h.RequestsServed, h.Errors, h.StartedAt, string(h.Detail))
			}
			return tw.Flush()
		},
	}
}

// shortDigest shows "v2@sha256:<64 hex>" as "v2@3b14dbd5f622" for tables.
func shortDigest(d string) string {
	name, hex, ok := strings.Cut(d, "@sha256:")
	if !ok || len(hex) < 12 {
		return d
	}
	return name + "@" + hex[:12]
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func stepText(v apiservice.RolloutView) string {
	if v.Status.CurrentStepIndex == nil || v.Steps == 0 {
		return "-"
	}
	return fmt.Sprintf("%d/%d", *v.Status.CurrentStepIndex, v.Steps)
}

// readManifests reads a file, every .yaml/.yml/.json file of a directory, or stdin.
func readManifests(path string) ([]string, error) {
	if path == "-" {
		b, err := io.ReadAll(io.LimitReader(os.Stdin, 4<<20))
		return []string{string(b)}, err
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		b, err := os.ReadFile(path)
		return []string{string(b)}, err
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, err
	}
	var out []string
	names := []string{}
	for _, e := range entries {
		if ext := filepath.Ext(e.Name()); !e.IsDir() && (ext == ".yaml" || ext == ".yml" || ext == ".json") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(path, n))
		if err != nil {
			return nil, err
		}
		out = append(out, string(b))
	}
	return out, nil
}
