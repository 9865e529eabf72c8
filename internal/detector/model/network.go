package model

import (
	"fmt"
	"math"
	"sync"
)

// Layer is one step of the network as recorded in the artifact. Parameters are stored in layer
// order; conv2d weights in [kernel, kernel, in, out] (HWIO) order and dense weights in [in, out]
// order, each followed by its bias — the layouts the training library uses, so export is a copy.
type Layer struct {
	Op     string `json:"op"` // conv2d | dense | relu | flatten
	In     int    `json:"in,omitempty"`
	Out    int    `json:"out,omitempty"`
	Kernel int    `json:"kernel,omitempty"`
	Stride int    `json:"stride,omitempty"`
}

// ImageSide is the input height and width; ImageSize its pixel count.
const (
	ImageSide = 28
	ImageSize = ImageSide * ImageSide
)

// compiledLayer is a layer ready for inference: weights transposed to [out][fanIn] so each output
// is one contiguous dot product.
type compiledLayer struct {
	op                  string
	relu                bool // fused ReLU after this conv/dense
	w, b                []float32
	inH, inW, inC       int
	outH, outW, outC    int
	kernel, stride, pad int
	fanIn               int
}

// Network is the inference forward pass of one artifact; safe for concurrent use.
type Network struct {
	layers  []compiledLayer
	inputC  int
	maxAct  int // largest activation buffer (floats)
	maxCol  int // largest im2col row buffer
	scratch sync.Pool
}

type scratch struct{ a, b, col []float32 }

// NewNetwork checks the layer list against the parameter count and builds the forward pass.
func NewNetwork(layers []Layer, params []float32) (*Network, error) {
	n := &Network{inputC: 1}
	h, w, c := ImageSide, ImageSide, 1
	flat := false
	off := 0
	take := func(count int) ([]float32, error) {
		if off+count > len(params) {
			return nil, fmt.Errorf("parameters end at %d, layers need at least %d", len(params), off+count)
		}
		s := params[off : off+count]
		off += count
		return s, nil
	}
	n.maxAct = h * w * c
	for i, l := range layers {
		switch l.Op {
		case "conv2d":
			if flat {
				return nil, fmt.Errorf("layers[%d]: conv2d after flatten", i)
			}
			if l.In != c || l.Out <= 0 || l.Kernel <= 0 || l.Stride <= 0 {
				return nil, fmt.Errorf("layers[%d]: conv2d in=%d out=%d kernel=%d stride=%d does not fit input channels %d", i, l.In, l.Out, l.Kernel, l.Stride, c)
			}
			k := l.Kernel
			wt, err := take(k * k * l.In * l.Out)
			if err != nil {
				return nil, fmt.Errorf("layers[%d] conv2d weights: %w", i, err)
			}
			bias, err := take(l.Out)
			if err != nil {
				return nil, fmt.Errorf("layers[%d] conv2d bias: %w", i, err)
			}
			pad := (k - 1) / 2 // "same" padding as the training library: low (k-1)/2, high k/2
			outH := (h+k-1-k)/l.Stride + 1
			outW := (w+k-1-k)/l.Stride + 1
			fan := k * k * l.In
			cl := compiledLayer{op: "conv2d", w: transpose(wt, fan, l.Out), b: append([]float32(nil), bias...),
				inH: h, inW: w, inC: c, outH: outH, outW: outW, outC: l.Out, kernel: k, stride: l.Stride, pad: pad, fanIn: fan}
			n.layers = append(n.layers, cl)
			n.maxCol = max(n.maxCol, fan)
			h, w, c = outH, outW, l.Out
		case "dense":
			size := h * w * c
			if !flat && size != l.In {
				return nil, fmt.Errorf("layers[%d]: dense needs a flatten first", i)
			}
			if l.In != size || l.Out <= 0 {
				return nil, fmt.Errorf("layers[%d]: dense in=%d out=%d does not fit input size %d", i, l.In, l.Out, size)
			}
			wt, err := take(l.In * l.Out)
			if err != nil {
				return nil, fmt.Errorf("layers[%d] dense weights: %w", i, err)
			}
			bias, err := take(l.Out)
			if err != nil {
				return nil, fmt.Errorf("layers[%d] dense bias: %w", i, err)
			}
			n.layers = append(n.layers, compiledLayer{op: "dense", w: transpose(wt, l.In, l.Out), b: append([]float32(nil), bias...), fanIn: l.In, outC: l.Out})
			h, w, c = 1, 1, l.Out
		case "relu":
			if len(n.layers) == 0 || n.layers[len(n.layers)-1].relu {
				return nil, fmt.Errorf("layers[%d]: relu must follow a conv2d or dense layer", i)
			}
			n.layers[len(n.layers)-1].relu = true
		case "flatten":
			flat = true
		default:
			return nil, fmt.Errorf("layers[%d]: unknown op %q (want conv2d, dense, relu or flatten)", i, l.Op)
		}
		n.maxAct = max(n.maxAct, h*w*c)
	}
	if h*w*c != 1 {
		return nil, fmt.Errorf("network ends with %d outputs, want 1 logit", h*w*c)
	}
	if off != len(params) {
		return nil, fmt.Errorf("layers use %d parameters, artifact holds %d", off, len(params))
	}
	n.scratch.New = func() any {
		return &scratch{a: make([]float32, n.maxAct), b: make([]float32, n.maxAct), col: make([]float32, n.maxCol)}
	}
	return n, nil
}

// transpose turns a row-major [rows][cols] matrix into [cols][rows].
func transpose(m []float32, rows, cols int) []float32 {
	t := make([]float32, len(m))
	for r := range rows {
		for c := range cols {
			t[c*rows+r] = m[r*cols+c]
		}
	}
	return t
}

// Logit runs the network on one preprocessed image (ImageSize floats) and returns the logit.
func (n *Network) Logit(x []float32) float32 {
	s := n.scratch.Get().(*scratch)
	defer n.scratch.Put(s)
	in := s.a[:len(x)]
	copy(in, x)
	out := s.b
	for i := range n.layers {
		l := &n.layers[i]
		switch l.op {
		case "conv2d":
			out = out[:l.outH*l.outW*l.outC]
			conv2d(l, in, out, s.col[:l.fanIn])
		case "dense":
			out = out[:l.outC]
			for o := range l.outC {
				v := l.b[o] + dot(l.w[o*l.fanIn:(o+1)*l.fanIn], in)
				if l.relu && v < 0 {
					v = 0
				}
				out[o] = v
			}
		}
		in, out = out, in[:cap(in)]
	}
	return in[0]
}

// conv2d computes one HWC convolution by gathering each output position's input patch into col
// (zero where it falls in the padding) and taking one dot product per output channel.
func conv2d(l *compiledLayer, in, out, col []float32) {
	k, c := l.kernel, l.inC
	for oy := range l.outH {
		for ox := range l.outW {
			p := 0
			for ky := range k {
				iy := oy*l.stride + ky - l.pad
				for kx := range k {
					ix := ox*l.stride + kx - l.pad
					if iy < 0 || iy >= l.inH || ix < 0 || ix >= l.inW {
						clear(col[p : p+c])
					} else {
						copy(col[p:p+c], in[(iy*l.inW+ix)*c:])
					}
					p += c
				}
			}
			base := (oy*l.outW + ox) * l.outC
			for o := range l.outC {
				v := l.b[o] + dot(l.w[o*l.fanIn:(o+1)*l.fanIn], col)
				if l.relu && v < 0 {
					v = 0
				}
				out[base+o] = v
			}
		}
	}
}

// dot is a 4-way unrolled dot product; len(b) must be >= len(a).
func dot(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// Sigmoid maps a logit to a probability without overflow for large |x|.
func Sigmoid(x float32) float64 {
	v := float64(x)
	if v >= 0 {
		return 1 / (1 + math.Exp(-v))
	}
	e := math.Exp(v)
	return e / (1 + e)
}
