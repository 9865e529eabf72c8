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
			n.maxCol = max(n.maxCol, outH*outW*fan)
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
			conv2d(l, in, out, s.col)
		case "dense":
			out = out[:l.outC]
			gemmBiasRelu(in[:l.fanIn], l.w, l.b, out, 1, l.outC, l.fanIn, l.relu)
		}
		in, out = out, in[:cap(in)]
	}
	return in[0]
}

// conv2d computes one HWC convolution as im2col + matrix multiply: every output position's
// input patch becomes a row of col (zeros where it falls in the padding), then out = col x W^T.
func conv2d(l *compiledLayer, in, out, col []float32) {
	k, c, fan := l.kernel, l.inC, l.fanIn
	p := 0
	for oy := range l.outH {
		for ox := range l.outW {
			for ky := range k {
				iy := oy*l.stride + ky - l.pad
				for kx := range k {
					ix := ox*l.stride + kx - l.pad
					dst := col[p : p+c]
					if iy < 0 || iy >= l.inH || ix < 0 || ix >= l.inW {
						clear(dst)
					} else if c == 1 {
						dst[0] = in[iy*l.inW+ix]
					} else {
						copy(dst, in[(iy*l.inW+ix)*c:])
					}
					p += c
				}
			}
		}
	}
	gemmBiasRelu(col, l.w, l.b, out, l.outH*l.outW, l.outC, fan, l.relu)
}

// gemmBiasRelu computes out[r][o] = relu?(bias[o] + a[r] . w[o]) for r < rows, o < cols, with
// a [rows][n] and w [cols][n] row-major. It works on 2x4 output tiles so every loaded value is
// reused from registers (8 accumulators + 6 operands fit amd64's 16 float registers; a 4x4 tile
// spills and measured 60% slower); a leftover row uses 1x4 tiles, leftover columns dot products.
func gemmBiasRelu(a, w, bias, out []float32, rows, cols, n int, relu bool) {
	r := 0
	for ; r+2 <= rows; r += 2 {
		a0, a1 := a[r*n:(r+1)*n], a[(r+1)*n:(r+2)*n]
		o := 0
		for ; o+4 <= cols; o += 4 {
			w0, w1, w2, w3 := w[o*n:(o+1)*n], w[(o+1)*n:(o+2)*n], w[(o+2)*n:(o+3)*n], w[(o+3)*n:(o+4)*n]
			var s00, s01, s02, s03, s10, s11, s12, s13 float32
			a1 = a1[:len(a0)]
			w0, w1, w2, w3 = w0[:len(a0)], w1[:len(a0)], w2[:len(a0)], w3[:len(a0)]
			for i, x0 := range a0 {
				x1 := a1[i]
				y0, y1, y2, y3 := w0[i], w1[i], w2[i], w3[i]
				s00 += x0 * y0
				s01 += x0 * y1
				s02 += x0 * y2
				s03 += x0 * y3
				s10 += x1 * y0
				s11 += x1 * y1
				s12 += x1 * y2
				s13 += x1 * y3
			}
			b0, b1, b2, b3 := bias[o], bias[o+1], bias[o+2], bias[o+3]
			store4(out[r*cols+o:], s00+b0, s01+b1, s02+b2, s03+b3, relu)
			store4(out[(r+1)*cols+o:], s10+b0, s11+b1, s12+b2, s13+b3, relu)
		}
		for ; o < cols; o++ {
			out[r*cols+o] = act(bias[o]+dot(w[o*n:(o+1)*n], a0), relu)
			out[(r+1)*cols+o] = act(bias[o]+dot(w[o*n:(o+1)*n], a1), relu)
		}
	}
	for ; r < rows; r++ {
		a0 := a[r*n : (r+1)*n]
		o := 0
		for ; o+4 <= cols; o += 4 {
			w0, w1, w2, w3 := w[o*n:(o+1)*n], w[(o+1)*n:(o+2)*n], w[(o+2)*n:(o+3)*n], w[(o+3)*n:(o+4)*n]
			w0, w1, w2, w3 = w0[:len(a0)], w1[:len(a0)], w2[:len(a0)], w3[:len(a0)]
			var s0, s1, s2, s3 float32
			for i, x := range a0 {
				s0 += x * w0[i]
				s1 += x * w1[i]
				s2 += x * w2[i]
				s3 += x * w3[i]
			}
			store4(out[r*cols+o:], s0+bias[o], s1+bias[o+1], s2+bias[o+2], s3+bias[o+3], relu)
		}
		for ; o < cols; o++ {
			out[r*cols+o] = act(bias[o]+dot(w[o*n:(o+1)*n], a0), relu)
		}
	}
}

func store4(dst []float32, v0, v1, v2, v3 float32, relu bool) {
	dst = dst[:4]
	dst[0], dst[1], dst[2], dst[3] = act(v0, relu), act(v1, relu), act(v2, relu), act(v3, relu)
}

func act(v float32, relu bool) float32 {
	if relu && v < 0 {
		return 0
	}
	return v
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
