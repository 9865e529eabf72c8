package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/shipsafe/shipsafe/data/pneumoniamnist"
)

// result is one request's outcome, sent from workers to the collector.
type result struct {
	index   int
	id      string
	version string
	latency time.Duration
	err     bool
	label   int // predicted label, -1 if none
	// kind and detail describe a failed request (see Failure).
	kind, detail string
}

// Run replays labelled images until Count or Duration is reached or ctx ends, then waits for the
// feedback posts still due and returns the report.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	if len(cfg.Images) == 0 {
		imgs, labels, err := pneumoniamnist.Val()
		if err != nil {
			return nil, fmt.Errorf("loadgen: load val split: %w", err)
		}
		cfg.Images, cfg.Labels = imgs, labels
	}
	client := cfg.Client
	if client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConns = cfg.Concurrency * 2
		tr.MaxIdleConnsPerHost = cfg.Concurrency * 2
		tr.MaxConnsPerHost = 0
		client = &http.Client{Transport: tr}
		defer tr.CloseIdleConnections()
	}
	g := &generator{cfg: cfg, client: client, inferURL: cfg.inferURL(), payloads: encodeImages(cfg.Images)}

	runCtx := ctx
	if cfg.Duration > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, cfg.Duration)
		defer cancel()
	}
	if cfg.Stop != nil {
		// Stop ends sending like Duration does: requests in flight finish and are counted.
		var stopSending context.CancelFunc
		runCtx, stopSending = context.WithCancel(runCtx)
		defer stopSending()
		go func() {
			select {
			case <-cfg.Stop:
				stopSending()
			case <-runCtx.Done():
			}
		}()
	}
	jobs := make(chan int, cfg.Concurrency)
	results := make(chan result, cfg.Concurrency*4)
	var fb *feedbackSender
	if cfg.FeedbackURL != "" {
		fb = newFeedbackSender(ctx, client, cfg.FeedbackURL, cfg.FeedbackToken, cfg.Timeout)
	}

	var workers sync.WaitGroup
	for range cfg.Concurrency {
		workers.Add(1)
		go func() {
			defer workers.Done()
			var buf bytes.Buffer
			for i := range jobs {
				results <- g.do(ctx, i, &buf)
			}
		}()
	}
	start := time.Now()
	go func() {
		g.dispatch(runCtx, jobs, start)
		close(jobs)
		workers.Wait()
		close(results)
	}()

	rep := &Report{ByVersion: map[string]*VersionReport{}}
	prog := newProgress(cfg.Progress, cfg.ProgressEvery, start)
	var fails failures
	for r := range results {
		rep.Requests++
		vr := rep.version(r.version)
		vr.Requests++
		if r.err {
			rep.Errors++
			vr.Errors++
			if fails.add(r.kind, r.detail) && cfg.Progress != nil {
				// Said at once: a run in which every request fails should not be silent
				// until the end.
				fmt.Fprintf(cfg.Progress, "loadgen: first %s failure: %s\n", r.kind, r.detail)
			}
		} else {
			vr.latencies = append(vr.latencies, r.latency)
		}
		if r.label >= 0 {
			truth := int(cfg.Labels[r.index%len(cfg.Labels)])
			vr.Labelled++
			switch {
			case r.label == 1 && truth == 1:
				vr.TP++
			case r.label == 1:
				vr.FP++
			case truth == 1:
				vr.FN++
			default:
				vr.TN++
			}
			if r.label == truth {
				vr.Correct++
			}
			if fb != nil {
				fb.enqueue(r.id, truth, time.Now().Add(cfg.FeedbackDelay))
			}
		}
		prog.update(rep)
	}
	elapsed := time.Since(start)
	rep.Failures = fails.list
	if fb != nil {
		rep.FeedbackSent, rep.FeedbackErrors = fb.finish()
	}
	rep.finish(elapsed)
	prog.done(rep)
	if err := ctx.Err(); err != nil {
		return rep, fmt.Errorf("loadgen: stopped early: %w", err)
	}
	return rep, nil
}

type generator struct {
	cfg      Config
	client   *http.Client
	inferURL string
	payloads [][]byte // per image: the JSON "data" array
}

// dispatch hands out request indices: paced at Rate when set, else as fast as workers take them.
func (g *generator) dispatch(ctx context.Context, jobs chan<- int, start time.Time) {
	var timer *time.Timer
	for i := 0; g.cfg.Count <= 0 || i < g.cfg.Count; i++ {
		if g.cfg.Rate > 0 {
			due := start.Add(time.Duration(float64(i) / g.cfg.Rate * float64(time.Second)))
			if wait := time.Until(due); wait > 0 {
				if timer == nil {
					timer = time.NewTimer(wait)
				} else {
					timer.Reset(wait)
				}
				select {
				case <-ctx.Done():
					return
				case <-timer.C:
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case jobs <- i:
		}
	}
}

// do sends request i and parses the answer.
func (g *generator) do(ctx context.Context, i int, buf *bytes.Buffer) result {
	img := i % len(g.payloads)
	id := g.cfg.IDPrefix + "-" + strconv.Itoa(i)
	res := result{index: i, id: id, label: -1}
	buf.Reset()
	buf.WriteString(`{"id":"`)
	buf.WriteString(id)
	buf.WriteString(`","inputs":[{"name":"image","datatype":"UINT8","shape":[1,28,28],"data":`)
	buf.Write(g.payloads[img])
	buf.WriteString(`}]}`)

	rctx, cancel := context.WithTimeout(ctx, g.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, g.inferURL, bytes.NewReader(buf.Bytes()))
	if err != nil {
		res.err, res.kind, res.detail = true, "request", fmt.Sprintf("POST %s: %v", g.inferURL, err)
		return res
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Request-Id", id) // the same id as in the body, for proxies that log headers
	if g.cfg.Header != nil {
		for k, vs := range g.cfg.Header(i) {
			for _, v := range vs {
				req.Header.Add(k, v)
			}
		}
	}
	start := time.Now()
	resp, err := g.client.Do(req)
	if err != nil {
		res.err = true
		res.kind, res.detail = transportFailure(g.inferURL, err)
		res.latency = time.Since(start)
		return res
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	res.latency = time.Since(start)
	var ans inferAnswer
	if jerr := json.Unmarshal(body, &ans); jerr == nil {
		res.version = ans.ModelVersion
	}
	switch {
	case err != nil:
		res.err, res.kind, res.detail = true, "read answer", fmt.Sprintf("POST %s: read the answer: %v", g.inferURL, err)
		return res
	case resp.StatusCode != http.StatusOK:
		res.err, res.kind = true, fmt.Sprintf("HTTP %d", resp.StatusCode)
		res.detail = fmt.Sprintf("POST %s: %s: %s", g.inferURL, resp.Status, excerpt(body))
		return res
	case ans.ID != "" && ans.ID != id:
		// An answer for another request: an error, not a prediction.
		res.err, res.kind, res.detail = true, "wrong id", fmt.Sprintf("POST %s: request %s answered with id %q", g.inferURL, id, ans.ID)
		return res
	}
	for _, o := range ans.Outputs {
		if o.Name == "label" && len(o.Data) > 0 {
			res.label = int(o.Data[0])
		}
	}
	if res.label < 0 {
		res.err, res.kind = true, "no label"
		res.detail = fmt.Sprintf("POST %s: 200 OK without a \"label\" output (is this an Open Inference Protocol endpoint of the detector?): %s", g.inferURL, excerpt(body))
	}
	return res
}

type inferAnswer struct {
	ID           string `json:"id"`
	ModelVersion string `json:"model_version"`
	Outputs      []struct {
		Name string    `json:"name"`
		Data []float64 `json:"data"`
	} `json:"outputs"`
}

// encodeImages renders every image's pixels once as a JSON array, so each request only copies bytes.
func encodeImages(images [][]uint8) [][]byte {
	out := make([][]byte, len(images))
	for i, img := range images {
		b := make([]byte, 0, 4*len(img)+2)
		b = append(b, '[')
		for j, p := range img {
			if j > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendUint(b, uint64(p), 10)
		}
		out[i] = append(b, ']')
	}
	return out
}

// progress writes a status line every interval; on a terminal it rewrites one line.
type progress struct {
	w        io.Writer
	every    time.Duration
	start    time.Time
	next     time.Time
	terminal bool
}

func newProgress(w io.Writer, every time.Duration, start time.Time) *progress {
	p := &progress{w: w, every: every, start: start, next: start.Add(every)}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.terminal = true
		}
	}
	return p
}

func (p *progress) update(r *Report) {
	if p.w == nil || time.Now().Before(p.next) {
		return
	}
	p.next = time.Now().Add(p.every)
	p.line(r)
}

func (p *progress) line(r *Report) {
	el := time.Since(p.start)
	var vs bytes.Buffer
	for _, v := range r.Versions() {
		vr := r.ByVersion[v]
		acc := 0.0
		if vr.Labelled > 0 {
			acc = float64(vr.Correct) / float64(vr.Labelled)
		}
		fmt.Fprintf(&vs, "  %s: %d req %d err acc %.3f", v, vr.Requests, vr.Errors, acc)
	}
	end := "\n"
	if p.terminal {
		end = "\033[K\r"
	}
	fmt.Fprintf(p.w, "[%5.1fs] %d requests, %d errors, %.0f req/s%s%s", el.Seconds(), r.Requests, r.Errors, float64(r.Requests)/el.Seconds(), vs.String(), end)
}

func (p *progress) done(r *Report) {
	if p.w == nil {
		return
	}
	p.line(r)
	if p.terminal {
		fmt.Fprintln(p.w)
	}
}
