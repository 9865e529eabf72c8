package loadgen

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// feedbackSender posts ground-truth labels once each is due. Delays are all equal, so due times
// arrive in order and a FIFO queue suffices.
type feedbackSender struct {
	ctx     context.Context
	client  *http.Client
	url     string
	token   string
	timeout time.Duration
	queue   chan feedbackItem
	wg      sync.WaitGroup
	mu      sync.Mutex
	sent    int
	failed  int
}

type feedbackItem struct {
	id    string
	label int
	due   time.Time
}

const feedbackWorkers = 4

func newFeedbackSender(ctx context.Context, client *http.Client, url, token string, timeout time.Duration) *feedbackSender {
	f := &feedbackSender{ctx: ctx, client: client, url: url, token: token, timeout: timeout, queue: make(chan feedbackItem, 1<<16)}
	for range feedbackWorkers {
		f.wg.Add(1)
		go f.work()
	}
	return f
}

func (f *feedbackSender) enqueue(id string, label int, due time.Time) {
	select {
	case f.queue <- feedbackItem{id: id, label: label, due: due}:
	case <-f.ctx.Done():
	}
}

func (f *feedbackSender) work() {
	defer f.wg.Done()
	var buf bytes.Buffer
	timer := time.NewTimer(0)
	<-timer.C
	for item := range f.queue {
		if wait := time.Until(item.due); wait > 0 {
			timer.Reset(wait)
			select {
			case <-f.ctx.Done():
				f.count(false)
				continue
			case <-timer.C:
			}
		}
		f.count(f.post(&buf, item))
	}
}

// post sends exactly {"id": "<id>", "label": 0|1}.
func (f *feedbackSender) post(buf *bytes.Buffer, item feedbackItem) bool {
	if f.ctx.Err() != nil {
		return false
	}
	buf.Reset()
	buf.WriteString(`{"id":`)
	buf.WriteString(strconv.Quote(item.id))
	buf.WriteString(`,"label":`)
	buf.WriteString(strconv.Itoa(item.label))
	buf.WriteString(`}`)
	ctx, cancel := context.WithTimeout(f.ctx, f.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.url, bytes.NewReader(buf.Bytes()))
	if err != nil {
		return false
	}
	req.Header.Set("Content-Type", "application/json")
	if f.token != "" {
		req.Header.Set("Authorization", "Bearer "+f.token)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode/100 == 2
}

func (f *feedbackSender) count(ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if ok {
		f.sent++
	} else {
		f.failed++
	}
}

// finish waits for every queued label to be posted (or ctx to end) and returns the counts.
func (f *feedbackSender) finish() (sent, failed int) {
	close(f.queue)
	f.wg.Wait()
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.sent, f.failed
}
