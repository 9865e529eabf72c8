package gateway

import (
	"net"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"
)

// benchGateway wires a gateway to an in-memory fasthttp backend answering a fixed OIP
// response, so the benchmark measures the gateway's per-request work (plus fasthttp's
// client and the tiny backend), without kernel networking noise.
func benchGateway(b *testing.B) *Gateway {
	b.Helper()
	ln := fasthttputil.NewInmemoryListener()
	body := []byte(`{"model_name":"detector","model_version":"v1","outputs":[{"name":"probability","datatype":"FP32","shape":[1],"data":[0.87]},{"name":"label","datatype":"INT64","shape":[1],"data":[1]}]}`)
	backend := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("application/json")
		ctx.SetBody(body)
	}}
	go func() { _ = backend.Serve(ln) }()
	b.Cleanup(func() { _ = backend.Shutdown(); _ = ln.Close() })
	g := New(Config{}, nil)
	g.dial = func(string) (net.Conn, error) { return ln.Dial() }
	if err := g.SetRoutes(oneService(
		Revision{Name: "stable", Weight: 95, Endpoints: eps("127.0.0.1:1", "127.0.0.1:2")},
		Revision{Name: "canary", Weight: 5, Endpoints: eps("127.0.0.1:3")},
	)); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(g.Close)
	return g
}

func benchHandle(b *testing.B, method, uri string, reqBody []byte) {
	g := benchGateway(b)
	var ctx fasthttp.RequestCtx
	var req fasthttp.Request
	ctx.Init(&req, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5555}, nil)
	b.ReportAllocs()
	for b.Loop() {
		ctx.Request.Reset()
		ctx.Response.Reset()
		ctx.Request.Header.SetMethod(method)
		ctx.Request.SetRequestURI(uri)
		ctx.Request.Header.SetHost("gateway")
		if reqBody != nil {
			ctx.Request.SetBodyRaw(reqBody)
		}
		g.handle(&ctx)
		if ctx.Response.StatusCode() != 200 {
			b.Fatalf("status %d: %s", ctx.Response.StatusCode(), ctx.Response.Body())
		}
	}
}

// BenchmarkHandleInfer is one proxied OIP inference request: routing, forwarding,
// recording, prediction extraction and the id store.
func BenchmarkHandleInfer(b *testing.B) {
	benchHandle(b, "POST", "/v2/models/detector/infer",
		[]byte(`{"inputs":[{"name":"image","datatype":"FP32","shape":[1,4],"data":[0.1,0.2,0.3,0.4]}]}`))
}

// BenchmarkHandleGet is one proxied plain GET (no OIP parsing).
func BenchmarkHandleGet(b *testing.B) { benchHandle(b, "GET", "/healthz", nil) }

// benchmarkRecord parses one OIP answer and records every item: prediction counts,
// probability histogram and the id store entry (distinct ids, like live traffic).
func benchmarkRecord(b *testing.B, body []byte) {
	clk := ClockFunc(func() time.Time { return time.Unix(1_700_000_000, 0) })
	g := New(Config{Clock: clk}, nil)
	rev := &revisionRoute{name: "stable", rec: g.rec.revision("detector", "stable"), met: g.met.forRevision("detector", "stable")}
	ids := make([][]byte, 1<<16)
	for i := range ids {
		ids[i] = appendRequestID(nil)
	}
	at := clk.Now()
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	i := 0
	for b.Loop() {
		g.recordPredictions(rev, ids[i&(len(ids)-1)], body, at)
		i++
	}
}

// BenchmarkParseAndRecordPrediction: a single-item OIP answer (what cmd/detector returns).
func BenchmarkParseAndRecordPrediction(b *testing.B) {
	benchmarkRecord(b, []byte(`{"model_name":"detector","model_version":"v1","outputs":[{"name":"probability","datatype":"FP32","shape":[1],"data":[0.87]},{"name":"label","datatype":"INT64","shape":[1],"data":[1]}]}`))
}

// BenchmarkParseAndRecordBatch8: a batch of 8 items, every one recorded.
func BenchmarkParseAndRecordBatch8(b *testing.B) {
	benchmarkRecord(b, []byte(`{"model_name":"detector","model_version":"v1","outputs":[{"name":"probability","datatype":"FP32","shape":[8,1],"data":[[0.87],[0.1],[0.5],[0.33],[0.99],[0.01],[0.72],[0.4]]},{"name":"label","datatype":"INT64","shape":[8],"data":[1,0,1,0,1,0,1,0]}]}`))
}

// BenchmarkParsePrediction: the scanner alone, no recording.
func BenchmarkParsePrediction(b *testing.B) {
	body := []byte(`{"model_name":"detector","model_version":"v1","outputs":[{"name":"probability","datatype":"FP32","shape":[1],"data":[0.87]},{"name":"label","datatype":"INT64","shape":[1],"data":[1]}]}`)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		it := newPredictionItems(body)
		for _, ok := it.next(); ok; _, ok = it.next() {
		}
	}
}
