package dataplane

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/shipsafe/shipsafe/internal/gateway"
)

// Client talks to a data plane's admin API. It follows the data plane across restarts
// (the supervisor points it at the new admin address) and remembers the last route table
// it was asked to set, so a restarted data plane starts with it.
type Client struct {
	token string
	http  *http.Client

	mu      sync.Mutex
	base    string
	desired *gateway.RouteTable
}

// NewClient returns a client for the admin API at addr (host:port).
func NewClient(addr, token string) *Client {
	return &Client{base: "http://" + addr, token: token, http: &http.Client{Timeout: 5 * time.Second}}
}

// setAddr points the client at a restarted data plane's admin API.
func (c *Client) setAddr(addr string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.base = "http://" + addr
}

// Desired returns the last route table SetRoutes was called with (false when none).
func (c *Client) Desired() (gateway.RouteTable, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.desired == nil {
		return gateway.RouteTable{}, false
	}
	return c.desired.Clone(), true
}

// Healthy reports whether the data plane answers its health check.
func (c *Client) Healthy(ctx context.Context) error {
	return c.do(ctx, http.MethodGet, "/healthz", nil, nil)
}

// SetRoutes replaces the whole route table.
func (c *Client) SetRoutes(ctx context.Context, t gateway.RouteTable) error {
	// Recorded before the call: a table the data plane never got (it was down) is still
	// what the control plane wants served, and what a restart must start with.
	d := t.Clone()
	c.mu.Lock()
	c.desired = &d
	c.mu.Unlock()
	return c.do(ctx, http.MethodPut, "/routes", t, nil)
}

// Routes returns the route table being served.
func (c *Client) Routes(ctx context.Context) (gateway.RouteTable, error) {
	var t gateway.RouteTable
	err := c.do(ctx, http.MethodGet, "/routes", nil, &t)
	return t, err
}

// Snapshot returns what one revision did since the given time.
func (c *Client) Snapshot(ctx context.Context, service, revision string, since time.Time) (gateway.RevisionSnapshot, error) {
	var s gateway.RevisionSnapshot
	q := url.Values{"service": {service}, "revision": {revision}, "since": {strconv.FormatInt(since.UnixMilli(), 10)}}
	err := c.do(ctx, http.MethodGet, "/snapshot?"+q.Encode(), nil, &s)
	return s, err
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("dataplane %s %s: encode: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	c.mu.Lock()
	base := c.base
	c.mu.Unlock()
	req, err := http.NewRequestWithContext(ctx, method, base+path, body)
	if err != nil {
		return fmt.Errorf("dataplane %s %s: %w", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("dataplane %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("dataplane %s %s: read: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("dataplane %s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(b))
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("dataplane %s %s: decode: %w", method, path, err)
		}
	}
	return nil
}
