package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/shipsafe/shipsafe/internal/embedded"
	"github.com/shipsafe/shipsafe/internal/server"
)

// Environment variables the CLI reads to find the API.
const (
	envServer = "SHIPSAFE_SERVER"
	envToken  = "SHIPSAFE_TOKEN"
)

// defaultDataDir is the data dir `shipsafe up` uses when not told otherwise.
const defaultDataDir = ".shipsafe"

// apiFlags are the flags every command that talks to `shipsafe up` takes.
type apiFlags struct {
	server     string
	dataDir    string
	dataDirSet bool
}

// bind registers --server and --data-dir on cmd; dataDirSet is filled in at run time.
func (f *apiFlags) bind(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.server, "server", "", "API address of a running shipsafe up (default: $"+envServer+", else the nearest .shipsafe data dir)")
	// No flag default: unset means "search", which the usage says (a default would print twice).
	cmd.Flags().StringVar(&f.dataDir, "data-dir", "", "data directory of the running shipsafe up (default: the nearest "+defaultDataDir+" in this or a parent directory)")
}

// client resolves the API for cmd (flags, environment, then the nearest data dir).
func (f *apiFlags) client(cmd *cobra.Command) (*apiClient, error) {
	g := *f
	g.dataDirSet = cmd.Flags().Changed("data-dir")
	wd, err := os.Getwd()
	if err != nil {
		return nil, fmt.Errorf("find the API: current directory: %w", err)
	}
	tgt, err := resolveAPI(g, os.Getenv, wd)
	if err != nil {
		return nil, err
	}
	return newClient(tgt), nil
}

// apiTarget is where the API is, its token, and how it was found (for error messages).
type apiTarget struct {
	base   string
	token  string
	source string
}

// resolveAPI finds the API: --server, then an explicit --data-dir, then $SHIPSAFE_SERVER,
// then the nearest .shipsafe in wd or its parents. $SHIPSAFE_TOKEN overrides the token
// file of a data dir.
func resolveAPI(f apiFlags, getenv func(string) string, wd string) (apiTarget, error) {
	envTok := getenv(envToken)
	switch {
	case f.server != "":
		return apiTarget{base: normalizeServer(f.server), token: envTok, source: "--server"}, nil
	case f.dataDirSet:
		return fromDataDir(f.dataDir, envTok, "--data-dir "+f.dataDir)
	case getenv(envServer) != "":
		return apiTarget{base: normalizeServer(getenv(envServer)), token: envTok, source: "$" + envServer}, nil
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		cand := filepath.Join(dir, defaultDataDir)
		if st, err := os.Stat(filepath.Join(cand, embedded.APIFile)); err == nil && !st.IsDir() {
			return fromDataDir(cand, envTok, "data dir "+cand)
		}
		if filepath.Dir(dir) == dir {
			break
		}
	}
	return apiTarget{}, fmt.Errorf("find the API: --server and $%s are unset and no %s directory with %s is in %s or its parents; start one with `shipsafe up`, or pass --server ADDR (with $%s for commands that change state)",
		envServer, defaultDataDir, embedded.APIFile, wd, envToken)
}

func fromDataDir(dir, envTok, source string) (apiTarget, error) {
	addr, err := embedded.ReadAPIAddr(dir)
	if err != nil {
		return apiTarget{}, fmt.Errorf("find the API through %s: %w", source, err)
	}
	tok := envTok
	if tok == "" {
		if tok, err = server.ReadToken(dir); err != nil {
			return apiTarget{}, fmt.Errorf("find the API through %s: %w", source, err)
		}
	}
	return apiTarget{base: normalizeServer(addr), token: tok, source: source}, nil
}

// normalizeServer accepts "host:port" or a URL and returns a base URL without a trailing slash.
func normalizeServer(s string) string {
	s = strings.TrimRight(strings.TrimSpace(s), "/")
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	return s
}

// apiClient talks to a running `shipsafe up`.
type apiClient struct {
	tgt  apiTarget
	http *http.Client
	// stream has no overall timeout: it carries the event stream.
	stream *http.Client
}

func newClient(tgt apiTarget) *apiClient {
	return &apiClient{tgt: tgt, http: &http.Client{Timeout: 30 * time.Second}, stream: &http.Client{}}
}

// unreachable wraps a transport error with where the API was looked for.
func (c *apiClient) unreachable(err error) error {
	var ne net.Error
	var oe *net.OpError
	if errors.As(err, &oe) || errors.As(err, &ne) {
		return fmt.Errorf("no shipsafe API answered at %s (from %s): %w", c.tgt.base, c.tgt.source, err)
	}
	return fmt.Errorf("API at %s (from %s): %w", c.tgt.base, c.tgt.source, err)
}

func (c *apiClient) newRequest(ctx context.Context, method, path string, body []byte) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.tgt.base+path, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if c.tgt.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.tgt.token)
	}
	return req, nil
}

// do sends a request and decodes a JSON answer into out; API errors come back with the
// server's message (and validation errors one per line).
func (c *apiClient) do(ctx context.Context, method, path string, body []byte, out any) error {
	req, err := c.newRequest(ctx, method, path, body)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%s %s: %w", method, path, ctx.Err())
		}
		return c.unreachable(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		return c.apiError(method, path, resp, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
		}
	}
	return nil
}

func (c *apiClient) apiError(method, path string, resp *http.Response, b []byte) error {
	var e struct {
		Error  string   `json:"error"`
		Errors []string `json:"errors"`
	}
	_ = json.Unmarshal(b, &e)
	if len(e.Errors) > 0 {
		return &exitError{code: 1, err: errors.New(strings.Join(e.Errors, "\n"))}
	}
	if e.Error == "" {
		e.Error = strings.TrimSpace(string(b))
	}
	if resp.StatusCode == http.StatusUnauthorized && c.tgt.token == "" {
		return fmt.Errorf("%s %s: %s: no token was sent (the API was found through %s): set $%s to the contents of the data dir's token file", method, path, resp.Status, c.tgt.source, envToken)
	}
	return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, e.Error)
}
