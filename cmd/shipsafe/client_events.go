package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"

	"github.com/shipsafe/shipsafe/internal/apiservice"
)

// errStopStream ends streamEvents without an error.
var errStopStream = errors.New("stop the event stream")

// eventsPath is the events route for rollout ("" for all) after an event id.
func eventsPath(rollout string, after int64, follow bool) string {
	q := url.Values{}
	if rollout != "" {
		q.Set("rollout", rollout)
	}
	if after > 0 {
		q.Set("after", strconv.FormatInt(after, 10))
	}
	if !follow {
		q.Set("follow", "false")
	}
	if len(q) == 0 {
		return "/api/v1/events"
	}
	return "/api/v1/events?" + q.Encode()
}

// listEvents returns every stored event of rollout ("" for all) after an event id, oldest
// first, reading page by page.
func (c *apiClient) listEvents(ctx context.Context, rollout string, after int64) ([]apiservice.Event, error) {
	var all []apiservice.Event
	for {
		var page struct{ Items []apiservice.Event }
		if err := c.do(ctx, "GET", eventsPath(rollout, after, false), nil, &page); err != nil {
			return all, err
		}
		if len(page.Items) == 0 {
			return all, nil
		}
		all = append(all, page.Items...)
		after = page.Items[len(page.Items)-1].ID
	}
}

// streamEvents follows the server-sent event stream of rollout ("" for all) from after an
// event id, calling fn for each event until fn returns an error (errStopStream: stop
// cleanly), the stream ends, or ctx is done. It returns the last event id seen, so a caller
// can resume.
func (c *apiClient) streamEvents(ctx context.Context, rollout string, after int64, fn func(apiservice.Event) error) (int64, error) {
	path := eventsPath(rollout, after, true)
	req, err := c.newRequest(ctx, "GET", path, nil)
	if err != nil {
		return after, err
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := c.stream.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return after, fmt.Errorf("GET %s: %w", path, ctx.Err())
		}
		return after, c.unreachable(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return after, c.apiError("GET", path, resp, b)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	var data strings.Builder
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if data.Len() == 0 {
				continue
			}
			var e apiservice.Event
			if err := json.Unmarshal([]byte(data.String()), &e); err != nil {
				return after, fmt.Errorf("GET %s: decode event %q: %w", path, data.String(), err)
			}
			data.Reset()
			after = max(after, e.ID)
			if err := fn(e); err != nil {
				if errors.Is(err, errStopStream) {
					return after, nil
				}
				return after, err
			}
		case strings.HasPrefix(line, "data:"):
			if data.Len() > 0 {
				data.WriteByte('\n')
			}
			data.WriteString(strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " "))
		}
		// id:, event: and ": keep-alive" lines carry nothing the JSON does not.
	}
	if ctx.Err() != nil {
		return after, ctx.Err()
	}
	if err := sc.Err(); err != nil {
		return after, fmt.Errorf("GET %s: event stream: %w", path, err)
	}
	return after, fmt.Errorf("GET %s: the event stream ended (did shipsafe up stop?)", path)
}
