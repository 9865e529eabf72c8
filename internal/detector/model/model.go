package model

import (
	"fmt"
	"math"
)

// Model is a loaded, verified artifact ready to serve; safe for concurrent use.
type Model struct {
	Meta   Metadata
	SHA256 string // digest of the whole artifact file
	net    *Network
	lut    [256]float32 // preprocessed value of every UINT8 pixel
}

// Load decodes and verifies artifact bytes (see Decode) and builds the forward pass.
func Load(artifact []byte, wantSHA256 string) (*Model, error) {
	meta, params, err := Decode(artifact, wantSHA256)
	if err != nil {
		return nil, err
	}
	if meta.Preprocess.Std <= 0 || meta.Preprocess.Scale <= 0 {
		return nil, fmt.Errorf("model %s: preprocess scale %v and std %v must be > 0", meta.Version, meta.Preprocess.Scale, meta.Preprocess.Std)
	}
	if !(meta.Threshold > 0 && meta.Threshold < 1) {
		return nil, fmt.Errorf("model %s: threshold %v must be in (0, 1)", meta.Version, meta.Threshold)
	}
	net, err := NewNetwork(meta.Layers, params)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", meta.Version, err)
	}
	m := &Model{Meta: meta, SHA256: Digest(artifact), net: net}
	for p := range 256 {
		m.lut[p] = m.preprocess(float32(p))
	}
	return m, nil
}

func (m *Model) preprocess(p float32) float32 {
	pp := m.Meta.Preprocess
	if pp.Invert {
		p = 255 - p
	}
	return float32((float64(p)*pp.Scale - pp.Mean) / pp.Std)
}

// Prediction is the model's answer for one image.
type Prediction struct {
	Probability float64 // P(pneumonia)
	Label       int     // 1 = pneumonia when Probability >= threshold
}

func (m *Model) predict(x []float32) Prediction {
	p := Sigmoid(m.net.Logit(x))
	label := 0
	if p >= m.Meta.Threshold {
		label = 1
	}
	return Prediction{Probability: p, Label: label}
}

// PredictUint8 classifies one image of ImageSize raw pixels (0-255). buf, if it has room for
// ImageSize floats, is reused for the preprocessed input.
func (m *Model) PredictUint8(pixels []uint8, buf []float32) Prediction {
	x := inputBuffer(buf)
	for i, p := range pixels[:ImageSize] {
		x[i] = m.lut[p]
	}
	return m.predict(x)
}

// PredictFloat32 classifies one image of ImageSize pixel intensities on the 0-255 scale. The
// caller validates the values (finite, in range).
func (m *Model) PredictFloat32(pixels []float32, buf []float32) Prediction {
	x := inputBuffer(buf)
	for i, p := range pixels[:ImageSize] {
		x[i] = m.preprocess(p)
	}
	return m.predict(x)
}

func inputBuffer(buf []float32) []float32 {
	if cap(buf) >= ImageSize {
		return buf[:ImageSize]
	}
	return make([]float32, ImageSize)
}

// ValidPixel reports whether an FP32 input value is an acceptable pixel intensity.
func ValidPixel(v float32) bool {
	f := float64(v)
	return !math.IsNaN(f) && f >= 0 && f <= 255
}

// Apply maps one raw pixel intensity (0-255) to the network input.
func (p Preprocess) Apply(v float32) float32 {
	if p.Invert {
		v = 255 - v
	}
	return float32((float64(v)*p.Scale - p.Mean) / p.Std)
}
