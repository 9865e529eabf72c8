package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/shipsafe/shipsafe/internal/embedded"
	"github.com/shipsafe/shipsafe/internal/server"
)

// apiClient talks to a running `shipsafe up` found through its data dir.
type apiClient struct {
	base  string
	token string
	http  *http.Client
}

func newAPIClient(dataDir string) (*apiClient, error) {
	addr, err := embedded.ReadAPIAddr(dataDir)
	if err != nil {
		return nil, err
	}
	tok, err := server.ReadToken(dataDir)
	if err != nil {
		return nil, err
	}
	return &apiClient{base: "http://" + addr, token: tok, http: &http.Client{Timeout: 30 * time.Second}}, nil
}

// do sends a request and decodes a JSON answer into out; API errors come back with the
// server's message (and validation errors one per line).
func (c *apiClient) do(ctx context.Context, method, path string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error  string   `json:"error"`
			Errors []string `json:"errors"`
		}
		_ = json.Unmarshal(b, &e)
		if len(e.Errors) > 0 {
			return &exitError{code: 1, err: fmt.Errorf("%s", strings.Join(e.Errors, "\n"))}
		}
		if e.Error == "" {
			e.Error = strings.TrimSpace(string(b))
		}
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, e.Error)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}
