package model

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func cnnLayers() []Layer {
	return []Layer{
		{Op: "conv2d", In: 1, Out: 2, Kernel: 3, Stride: 2}, {Op: "relu"},
		{Op: "flatten"},
		{Op: "dense", In: 14 * 14 * 2, Out: 1},
	}
}

func randomParams(n int, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 1))
	p := make([]float32, n)
	for i := range p {
		p[i] = float32(rng.NormFloat64() * 0.1)
	}
	return p
}

func testMeta() Metadata {
	return Metadata{Name: "pneumonia-detector", Version: "vt", Layers: cnnLayers(), Threshold: 0.5,
		Preprocess: Preprocess{Scale: 1.0 / 255, Mean: 0.5, Std: 0.25}}
}

const cnnParams = 3*3*1*2 + 2 + 14*14*2 + 1

func TestEncodeDecodeRoundTrip(t *testing.T) {
	params := randomParams(cnnParams, 1)
	art, err := Encode(testMeta(), params)
	if err != nil {
		t.Fatal(err)
	}
	meta, got, err := Decode(art, Digest(art))
	if err != nil {
		t.Fatal(err)
	}
	if meta.Version != "vt" || len(got) != len(params) || got[7] != params[7] {
		t.Errorf("round trip changed the artifact: %+v", meta)
	}
}

func TestCorruptArtifactsAreRefused(t *testing.T) {
	art, _ := Encode(testMeta(), randomParams(cnnParams, 1))
	flipped := append([]byte(nil), art...)
	flipped[len(flipped)/2] ^= 0x40
	for _, tc := range []struct {
		name string
		data []byte
		want string
		pin  string
	}{
		{"truncated", art[:len(art)-100], "truncated or corrupt", ""},
		{"tiny", art[:10], "truncated", ""},
		{"bit flip", flipped, "truncated or corrupt", ""},
		{"not a model", []byte(strings.Repeat("x", 100)), "SSMODEL1 magic", ""},
		{"manifest mismatch", art, "manifest wants", strings.Repeat("0", 64)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(tc.data, tc.pin)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Load: err %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestNetworkRejectsMismatchedParams(t *testing.T) {
	if _, err := NewNetwork(cnnLayers(), randomParams(cnnParams-1, 1)); err == nil {
		t.Error("short params accepted")
	}
	if _, err := NewNetwork(cnnLayers(), randomParams(cnnParams+1, 1)); err == nil || !strings.Contains(err.Error(), "artifact holds") {
		t.Errorf("long params: %v", err)
	}
	if _, err := NewNetwork([]Layer{{Op: "pool"}}, nil); err == nil || !strings.Contains(err.Error(), "unknown op") {
		t.Errorf("unknown op: %v", err)
	}
}

// TestConvMatchesDirectDefinition checks the im2col forward pass against the textbook definition
// of a "same"-padded strided convolution in HWIO layout.
func TestConvMatchesDirectDefinition(t *testing.T) {
	params := randomParams(cnnParams, 3)
	net, err := NewNetwork(cnnLayers(), params)
	if err != nil {
		t.Fatal(err)
	}
	x := randomParams(ImageSize, 4)
	kw, kb := params[:18], params[18:20]
	dw, db := params[20:20+392], params[20+392]
	logit := float64(db)
	for oy := range 14 {
		for ox := range 14 {
			for o := range 2 {
				v := float64(kb[o])
				for ky := range 3 {
					for kx := range 3 {
						iy, ix := oy*2+ky-1, ox*2+kx-1
						if iy >= 0 && iy < 28 && ix >= 0 && ix < 28 {
							v += float64(x[iy*28+ix]) * float64(kw[(ky*3+kx)*2+o])
						}
					}
				}
				v = math.Max(v, 0)
				logit += v * float64(dw[(oy*14+ox)*2+o])
			}
		}
	}
	if got := float64(net.Logit(x)); math.Abs(got-logit) > 1e-4 {
		t.Errorf("Logit = %v, direct definition = %v", got, logit)
	}
}

func TestMetrics(t *testing.T) {
	probs := []float64{0.1, 0.4, 0.35, 0.8}
	labels := []uint8{0, 0, 1, 1}
	if auc := AUC(probs, labels); math.Abs(auc-0.75) > 1e-9 {
		t.Errorf("AUC = %v, want 0.75", auc)
	}
	m := Evaluate(probs, labels, 0.5)
	if m.Accuracy != 0.75 || m.Sensitivity != 0.5 || m.Specificity != 1 || m.BalancedAccuracy != 0.75 {
		t.Errorf("Evaluate = %+v", m)
	}
	if th := BalancedThreshold([]float64{0.2, 0.3, 0.7, 0.9}, []uint8{0, 0, 1, 1}); th <= 0.3 || th > 0.7 {
		t.Errorf("BalancedThreshold = %v, want in (0.3, 0.7]", th)
	}
	if auc := AUC([]float64{0.5, 0.5}, []uint8{0, 1}); auc != 0.5 {
		t.Errorf("ties: AUC = %v", auc)
	}
}
