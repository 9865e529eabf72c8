// Package detectorbench measures the detector: per-image inference latency and batch throughput
// for each shipped version, and the full OIP HTTP handler. Run on one core:
//
//	go test ./bench/detector -run '^$' -bench . -benchmem -cpu 1
package detectorbench

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/shipsafe/shipsafe/data/pneumoniamnist"
	"github.com/shipsafe/shipsafe/internal/detector/model"
	"github.com/shipsafe/shipsafe/internal/detector/server"
	"github.com/shipsafe/shipsafe/models"
)

func load(b *testing.B, version string) (*model.Model, [][]uint8) {
	b.Helper()
	m, err := models.Load(version)
	if err != nil {
		b.Fatal(err)
	}
	imgs, _, err := pneumoniamnist.Val()
	if err != nil {
		b.Fatal(err)
	}
	return m, imgs
}

// BenchmarkPredictImage is the latency of one image through preprocessing and the forward pass.
func BenchmarkPredictImage(b *testing.B) {
	for _, v := range models.Names() {
		b.Run(v, func(b *testing.B) {
			m, imgs := load(b, v)
			buf := make([]float32, model.ImageSize)
			b.ReportAllocs()
			i := 0
			cpu := startThreadCPU(b)
			for b.Loop() {
				m.PredictUint8(imgs[i%len(imgs)], buf)
				i++
			}
			cpu.report(b, i)
		})
	}
}

// BenchmarkPredictBatch64 classifies 64 images per op and reports images per second.
func BenchmarkPredictBatch64(b *testing.B) {
	const batch = 64
	for _, v := range models.Names() {
		b.Run(v, func(b *testing.B) {
			m, imgs := load(b, v)
			buf := make([]float32, model.ImageSize)
			b.ReportAllocs()
			n := 0
			cpu := startThreadCPU(b)
			for b.Loop() {
				for j := range batch {
					m.PredictUint8(imgs[(n+j)%len(imgs)], buf)
				}
				n += batch
			}
			cpu.report(b, n/batch)
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "images/s")
		})
	}
}

// BenchmarkInferHandler is one OIP inference request (JSON parse, validate, predict, encode)
// through the server's handler, without the network.
func BenchmarkInferHandler(b *testing.B) {
	for _, batch := range []int{1, 32} {
		b.Run(fmt.Sprintf("v2/batch%d", batch), func(b *testing.B) {
			m, imgs := load(b, "v2")
			s := server.New(server.Options{})
			s.SetModel(m)
			h := s.Handler()
			var body bytes.Buffer
			body.WriteString(`{"id":"bench","inputs":[{"name":"image","datatype":"UINT8","shape":[` + strconv.Itoa(batch) + `,784],"data":[`)
			for j := range batch {
				for k, p := range imgs[j] {
					if j+k > 0 {
						body.WriteByte(',')
					}
					body.WriteString(strconv.Itoa(int(p)))
				}
			}
			body.WriteString(`]}]}`)
			payload := body.Bytes()
			b.ReportAllocs()
			b.SetBytes(int64(len(payload)))
			cpu := startThreadCPU(b)
			ops := 0
			for b.Loop() {
				ops++
				req := httptest.NewRequest(http.MethodPost, "/v2/models/pneumonia-detector/infer", bytes.NewReader(payload))
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
			}
			cpu.report(b, ops)
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "images/s")
		})
	}
}
