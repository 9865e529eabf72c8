package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/shipsafe/shipsafe/internal/detector/model"
)

// testModel is a logistic regression whose logit is (mean pixel - 100)/10: bright images are
// "pneumonia". Built in the test so it does not depend on trained artifacts.
func testModel(t *testing.T) *model.Model {
	t.Helper()
	params := make([]float32, model.ImageSize+1)
	for i := range model.ImageSize {
		params[i] = 1.0 / model.ImageSize / 10
	}
	params[model.ImageSize] = -10
	meta := model.Metadata{
		Name: "pneumonia-detector", Version: "vt", Architecture: "logreg",
		Input:      model.InputSpec{Name: "image", Datatypes: []string{"UINT8", "FP32"}, Shape: []int{-1, 28, 28}},
		Preprocess: model.Preprocess{Scale: 1, Mean: 0, Std: 1},
		Layers:     []model.Layer{{Op: "flatten"}, {Op: "dense", In: model.ImageSize, Out: 1}},
		Threshold:  0.5, Labels: []string{"normal", "pneumonia"},
	}
	art, err := model.Encode(meta, params)
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.Load(art, "")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func newTestServer(t *testing.T, opts Options) (*Server, *httptest.Server) {
	t.Helper()
	s := New(opts)
	s.SetModel(testModel(t))
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return s, ts
}

func image(v int, n int, nested bool) string {
	px := make([]string, model.ImageSize)
	for i := range px {
		px[i] = fmt.Sprint(v)
	}
	one := "[" + strings.Join(px, ",") + "]"
	if nested {
		rows := make([]string, 28)
		for r := range rows {
			rows[r] = "[" + strings.Join(px[r*28:(r+1)*28], ",") + "]"
		}
		one = "[" + strings.Join(rows, ",") + "]"
	}
	all := make([]string, n)
	for i := range all {
		all[i] = one
	}
	if nested {
		return "[" + strings.Join(all, ",") + "]"
	}
	return "[" + strings.Join(all, ",")[1:len(strings.Join(all, ","))-1] + "]"
}

func post(t *testing.T, url, body string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("response %q is not JSON: %v", raw, err)
	}
	return resp.StatusCode, out
}

func get(t *testing.T, url string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func TestInferUint8AndFP32Batches(t *testing.T) {
	_, ts := newTestServer(t, Options{})
	for _, tc := range []struct {
		name, path, body string
		wantLabels       []float64
	}{
		{"uint8 nested [2,28,28]", "/v2/models/pneumonia-detector/infer",
			`{"id":"req-1","inputs":[{"name":"image","datatype":"UINT8","shape":[2,28,28],"data":` + image(200, 2, true) + `}]}`, nil},
		{"fp32 flat [1,784] versioned path", "/v2/models/pneumonia-detector/versions/vt/infer",
			`{"id":"req-2","inputs":[{"name":"image","datatype":"FP32","shape":[1,784],"data":` + image(10, 1, false) + `}]}`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out := post(t, ts.URL+tc.path, tc.body)
			if code != http.StatusOK {
				t.Fatalf("status %d: %v", code, out)
			}
			if out["model_version"] != "vt" || out["model_name"] != "pneumonia-detector" {
				t.Errorf("model fields: %v", out)
			}
			if !strings.HasPrefix(out["id"].(string), "req-") {
				t.Errorf("id not echoed: %v", out["id"])
			}
			outs := out["outputs"].([]any)
			if len(outs) != 2 {
				t.Fatalf("outputs: %v", outs)
			}
			prob := outs[0].(map[string]any)
			label := outs[1].(map[string]any)
			if prob["name"] != "probability" || label["name"] != "label" || label["datatype"] != "INT32" {
				t.Errorf("output names/types: %v", outs)
			}
			labels := label["data"].([]any)
			wantN := 2
			wantLabel := 1.0 // bright image
			if strings.Contains(tc.name, "fp32") {
				wantN, wantLabel = 1, 0
			}
			if len(labels) != wantN {
				t.Fatalf("got %d labels, want %d", len(labels), wantN)
			}
			for _, l := range labels {
				if l.(float64) != wantLabel {
					t.Errorf("label %v, want %v", l, wantLabel)
				}
			}
		})
	}
}

func TestInferRequestedOutputOnly(t *testing.T) {
	_, ts := newTestServer(t, Options{})
	code, out := post(t, ts.URL+"/v2/models/pneumonia-detector/infer",
		`{"inputs":[{"name":"image","datatype":"UINT8","shape":[1,784],"data":`+image(0, 1, false)+`}],"outputs":[{"name":"label"}]}`)
	if code != 200 {
		t.Fatalf("status %d %v", code, out)
	}
	if outs := out["outputs"].([]any); len(outs) != 1 || outs[0].(map[string]any)["name"] != "label" {
		t.Errorf("outputs %v", outs)
	}
	if _, has := out["id"]; has {
		t.Errorf("id present though the request had none: %v", out["id"])
	}
}

func TestBadInputsGet400WithMessage(t *testing.T) {
	_, ts := newTestServer(t, Options{MaxBodyBytes: 64 << 10, MaxBatch: 4})
	url := ts.URL + "/v2/models/pneumonia-detector/infer"
	good := image(1, 1, false)
	in := func(dt, shape, data string) string {
		return `{"inputs":[{"name":"image","datatype":"` + dt + `","shape":` + shape + `,"data":` + data + `}]}`
	}
	nanData := strings.Replace(good, "[1,", "[NaN,", 1)
	for _, tc := range []struct{ name, body, want string }{
		{"malformed JSON", `{"inputs": [`, "malformed JSON"},
		{"not an object", `[1,2,3]`, "malformed request"},
		{"missing inputs", `{"id":"x"}`, "inputs: missing"},
		{"two inputs", `{"inputs":[{"name":"a","datatype":"UINT8","shape":[1,784],"data":[1]},{"name":"b","datatype":"UINT8","shape":[1,784],"data":[1]}]}`, "want exactly 1"},
		{"missing name", `{"inputs":[{"datatype":"UINT8","shape":[1,784],"data":` + good + `}]}`, "inputs[0].name: missing"},
		{"wrong datatype", in("INT64", "[1,784]", good), `datatype "INT64": must be UINT8 or FP32`},
		{"wrong shape", in("UINT8", "[1,28,27]", good), "shape [1 28 27]: must be [N,28,28] or [N,784]"},
		{"zero batch", in("UINT8", "[0,784]", "[]"), "batch size N must be >= 1"},
		{"batch over limit", in("UINT8", "[5,784]", good), "exceeds the limit of 4 images"},
		{"missing data", `{"inputs":[{"name":"image","datatype":"UINT8","shape":[1,784]}]}`, "inputs[0].data: missing"},
		{"too few values", in("UINT8", "[1,784]", "[1,2,3]"), "has 3 values; the shape needs 784"},
		{"too many values", in("UINT8", "[1,784]", strings.Replace(good, "[", "[7,", 1)), "more than 784 values"},
		{"NaN literal", in("FP32", "[1,784]", nanData), "NaN and Infinity are not numbers"},
		{"NaN string", in("FP32", "[1,784]", strings.Replace(good, "[1,", `["NaN",`, 1)), `data[0] is "NaN": pixel values must be finite`},
		{"out of range", in("FP32", "[1,784]", strings.Replace(good, "[1,", "[300,", 1)), "data[0] = 300: pixel values must be in [0, 255]"},
		{"negative", in("UINT8", "[1,784]", strings.Replace(good, "[1,", "[-1,", 1)), "data[0] = -1: pixel values must be in [0, 255]"},
		{"fractional uint8", in("UINT8", "[1,784]", strings.Replace(good, "[1,", "[1.5,", 1)), "UINT8 values must be integers"},
		{"string data", in("UINT8", "[1,784]", `"abc"`), "inputs[0].data"},
		{"unknown output", `{"inputs":[{"name":"image","datatype":"UINT8","shape":[1,784],"data":` + good + `}],"outputs":[{"name":"logits"}]}`, `outputs[0].name "logits"`},
		{"oversized body", in("UINT8", "[1,784]", "["+strings.Repeat("1,", 40<<10)+"1]"), "request body exceeds the 65536-byte limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out := post(t, url, tc.body)
			if code != http.StatusBadRequest {
				t.Fatalf("status %d, want 400 (%v)", code, out)
			}
			msg, _ := out["error"].(string)
			if !strings.Contains(msg, tc.want) {
				t.Errorf("error %q does not contain %q", msg, tc.want)
			}
		})
	}
}

func TestRoutingErrors(t *testing.T) {
	_, ts := newTestServer(t, Options{})
	code, out := post(t, ts.URL+"/v2/models/other/infer", `{}`)
	if code != 404 || !strings.Contains(out["error"].(string), `model "other" not found`) {
		t.Errorf("wrong model: %d %v", code, out)
	}
	code, out = post(t, ts.URL+"/v2/models/pneumonia-detector/versions/v9/infer", `{}`)
	if code != 404 || !strings.Contains(out["error"].(string), `version "v9" not found`) {
		t.Errorf("wrong version: %d %v", code, out)
	}
}

func TestHealthMetadataAndMetrics(t *testing.T) {
	_, ts := newTestServer(t, Options{})
	for _, p := range []string{"/v2/health/live", "/health/live", "/v2/health/ready", "/health/ready", "/v2/models/pneumonia-detector/ready", "/v2/models/pneumonia-detector/versions/vt/ready"} {
		if code, out := get(t, ts.URL+p); code != 200 {
			t.Errorf("%s: %d %v", p, code, out)
		}
	}
	code, md := get(t, ts.URL+"/v2/models/pneumonia-detector")
	if code != 200 || md["name"] != "pneumonia-detector" || md["versions"].([]any)[0] != "vt" {
		t.Errorf("model metadata: %d %v", code, md)
	}
	if params := md["parameters"].(map[string]any); params["threshold"] != 0.5 || params["sha256"] == "" {
		t.Errorf("model metadata parameters: %v", params)
	}
	code, smd := get(t, ts.URL+"/v2")
	if code != 200 || smd["name"] != "shipsafe-detector" {
		t.Errorf("server metadata: %v", smd)
	}
	if _, has := smd["fault_injection"]; has {
		t.Errorf("fault_injection shown while off: %v", smd)
	}
	post(t, ts.URL+"/v2/models/pneumonia-detector/infer", `{"inputs":[{"name":"image","datatype":"UINT8","shape":[1,784],"data":`+image(250, 1, false)+`}]}`)
	resp, err := http.Get(ts.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`detector_infer_requests_total{code="200"} 1`,
		`detector_infer_duration_seconds_bucket`,
		`detector_predictions_total{class="pneumonia"} 1`,
		`detector_model_info{architecture="logreg"`,
		`detector_ready 1`,
	} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestNotReadyWhenModelFailsToLoad(t *testing.T) {
	s := New(Options{})
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	s.SetLoadError(errors.New("artifact SHA-256 trailer does not match its contents: file is truncated or corrupt"))
	if code, _ := get(t, ts.URL+"/v2/health/live"); code != 200 {
		t.Errorf("live: %d", code)
	}
	code, out := get(t, ts.URL+"/v2/health/ready")
	if code != 503 || !strings.Contains(out["reason"].(string), "truncated or corrupt") {
		t.Errorf("ready: %d %v", code, out)
	}
	code, out = post(t, ts.URL+"/v2/models/pneumonia-detector/infer", `{}`)
	if code != 503 || !strings.Contains(out["error"].(string), "model failed to load") {
		t.Errorf("infer: %d %v", code, out)
	}
}

func TestDrainTurnsNotReadyButServes(t *testing.T) {
	s, ts := newTestServer(t, Options{})
	s.Drain()
	code, out := get(t, ts.URL+"/health/ready")
	if code != 503 || !strings.Contains(out["reason"].(string), "draining") {
		t.Errorf("ready while draining: %d %v", code, out)
	}
	code, _ = post(t, ts.URL+"/v2/models/pneumonia-detector/infer", `{"inputs":[{"name":"image","datatype":"UINT8","shape":[1,784],"data":`+image(1, 1, false)+`}]}`)
	if code != 200 {
		t.Errorf("in-flight style request while draining: %d", code)
	}
}

func TestFaultInjectionShownAndApplied(t *testing.T) {
	_, ts := newTestServer(t, Options{InjectErrorRate: 1})
	_, smd := get(t, ts.URL+"/v2")
	fi, ok := smd["fault_injection"].(map[string]any)
	if !ok || fi["error_rate"] != 1.0 {
		t.Fatalf("fault_injection: %v", smd)
	}
	code, out := post(t, ts.URL+"/v2/models/pneumonia-detector/infer", `{"inputs":[{"name":"image","datatype":"UINT8","shape":[1,784],"data":`+image(1, 1, false)+`}]}`)
	if code != 500 || !strings.Contains(out["error"].(string), "injected error") {
		t.Errorf("injected error: %d %v", code, out)
	}
}
