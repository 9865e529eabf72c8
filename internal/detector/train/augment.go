package train

import (
	"math"
	"math/rand/v2"
)

// augment writes a randomly transformed copy of a 28x28 image into dst (raw 0-255 intensities):
// a small rotation, scale and shift (bilinear resampling, edges clamped) and a brightness and
// contrast jitter. Chest X-rays are positioned and exposed slightly differently from one
// acquisition to the next; this teaches the CNN to ignore that, which is what lets a small model
// generalise to the harder held-out test split.
func augment(rng *rand.Rand, src []uint8, dst []float32) {
	const side = 28
	angle := (rng.Float64()*2 - 1) * 10 * math.Pi / 180
	scale := 1 + (rng.Float64()*2-1)*0.10
	tx := (rng.Float64()*2 - 1) * 2
	ty := (rng.Float64()*2 - 1) * 2
	contrast := 1 + (rng.Float64()*2-1)*0.15
	brightness := (rng.Float64()*2 - 1) * 15
	cos, sin := math.Cos(angle)/scale, math.Sin(angle)/scale
	const c = (side - 1) / 2.0
	for y := range side {
		for x := range side {
			// Inverse map the output pixel back into the source image.
			dx, dy := float64(x)-c-tx, float64(y)-c-ty
			sx := cos*dx + sin*dy + c
			sy := -sin*dx + cos*dy + c
			v := bilinear(src, sx, sy)
			v = (v-128)*contrast + 128 + brightness
			dst[y*side+x] = float32(min(max(v, 0), 255))
		}
	}
}

func bilinear(img []uint8, x, y float64) float64 {
	const side = 28
	x = min(max(x, 0), side-1)
	y = min(max(y, 0), side-1)
	x0, y0 := int(x), int(y)
	x1, y1 := min(x0+1, side-1), min(y0+1, side-1)
	fx, fy := x-float64(x0), y-float64(y0)
	top := float64(img[y0*side+x0])*(1-fx) + float64(img[y0*side+x1])*fx
	bot := float64(img[y1*side+x0])*(1-fx) + float64(img[y1*side+x1])*fx
	return top*(1-fy) + bot*fy
}
