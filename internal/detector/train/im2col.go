package train

import (
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	mlctx "github.com/gomlx/gomlx/pkg/ml/context"
)

// conv2dIm2col is a "same"-padded strided 2-D convolution written as gather + matrix multiply.
//
// Why not layers.Convolution: in GoMLX v0.26.0 the simplego (pure Go) backend cannot
// differentiate a convolution with respect to its input (the gradient needs the Reverse op, which
// simplego does not implement), so a second conv layer cannot be trained. Gather, its gradient
// (ScatterSum) and Dot are all implemented. The padding, stride and HWIO weight layout match
// model.Network exactly, so the exported weights are used as-is by the serving forward pass.
func conv2dIm2col(ctx *mlctx.Context, x *graph.Node, out, kernel, stride int) *graph.Node {
	g := x.Graph()
	dims := x.Shape().Dimensions // [B, H, W, C]
	b, h, w, c := dims[0], dims[1], dims[2], dims[3]
	pad := (kernel - 1) / 2
	outH := (h+kernel-1-kernel)/stride + 1
	outW := (w+kernel-1-kernel)/stride + 1

	// Rows of params: one per input pixel, plus a final zero row that padding positions gather.
	rows := graph.Reshape(graph.TransposeAllAxes(x, 1, 2, 0, 3), h*w, b*c)
	rows = graph.Concatenate([]*graph.Node{rows, graph.Zeros(g, shapes.Make(x.DType(), 1, b*c))}, 0)

	idx := make([]int32, 0, outH*outW*kernel*kernel)
	for oy := range outH {
		for ox := range outW {
			for ky := range kernel {
				for kx := range kernel {
					iy, ix := oy*stride+ky-pad, ox*stride+kx-pad
					if iy < 0 || iy >= h || ix < 0 || ix >= w {
						idx = append(idx, int32(h*w))
					} else {
						idx = append(idx, int32(iy*w+ix))
					}
				}
			}
		}
	}
	indices := graph.Reshape(graph.Const(g, idx), len(idx), 1)
	patches := graph.Gather(rows, indices)                           // [P*k*k, B*C]
	patches = graph.Reshape(patches, outH*outW, kernel*kernel, b, c) // [P, kk, B, C]
	patches = graph.TransposeAllAxes(patches, 2, 0, 1, 3)            // [B, P, kk, C]
	patches = graph.Reshape(patches, b*outH*outW, kernel*kernel*c)   // [B*P, kk*C]
	weights := ctx.VariableWithShape("weights", shapes.Make(dtypes.Float32, kernel, kernel, c, out)).ValueGraph(g)
	biases := ctx.VariableWithShape("biases", shapes.Make(dtypes.Float32, out)).ValueGraph(g)
	y := graph.Dot(patches, graph.Reshape(weights, kernel*kernel*c, out)) // [B*P, out]
	y = graph.Add(y, graph.ExpandDims(biases, 0))
	return graph.Reshape(y, b, outH, outW, out)
}
