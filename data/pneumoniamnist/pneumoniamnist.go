// Package pneumoniamnist embeds the PneumoniaMNIST train and val splits (CC BY 4.0, attribution in
// README.md beside this file) so every shipsafe binary can train the detector and replay labelled
// traffic from any working directory.
package pneumoniamnist

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	_ "embed"
)

// ImageSide is the width and height of every image; ImageSize the pixels per image.
const (
	ImageSide = 28
	ImageSize = ImageSide * ImageSide
)

// SHA256 is the digest of the embedded .npz file, as published in the data README.
const SHA256 = "a479aa6ec64ae32fc6146f63a41e40a6d554799d60f72321205b74d502483504"

// FileName is the embedded file's name, relative to this folder.
const FileName = "pneumoniamnist_trainval.npz"

//go:embed pneumoniamnist_trainval.npz
var npzFile []byte

// Split is one labelled split: Images[i] holds ImageSize row-major pixels, Labels[i] is 0 (normal)
// or 1 (pneumonia).
type Split struct {
	Images [][]uint8
	Labels []uint8
}

// Counts returns how many images of each class the split holds.
func (s Split) Counts() (normal, pneumonia int) {
	for _, l := range s.Labels {
		if l == 1 {
			pneumonia++
		} else {
			normal++
		}
	}
	return normal, pneumonia
}

// Val returns the 524-image validation split.
func Val() (images [][]uint8, labels []uint8, err error) {
	s, err := LoadSplit("val")
	return s.Images, s.Labels, err
}

// Train returns the 4,708-image training split.
func Train() (images [][]uint8, labels []uint8, err error) {
	s, err := LoadSplit("train")
	return s.Images, s.Labels, err
}

// Digest returns the SHA-256 (hex) of the embedded file.
func Digest() string {
	sum := sha256.Sum256(npzFile)
	return hex.EncodeToString(sum[:])
}

// LoadSplit decodes split "train" or "val" from the embedded file after checking its digest.
func LoadSplit(split string) (Split, error) {
	if got := Digest(); got != SHA256 {
		return Split{}, fmt.Errorf("embedded %s: sha256 %s, want %s", FileName, got, SHA256)
	}
	return DecodeSplit(npzFile, split)
}

// DecodeSplit reads split ("train" or "val") from npz bytes with the PneumoniaMNIST layout:
// <split>_images (N,28,28) and <split>_labels (N,1), both uint8, labels 0 or 1.
func DecodeSplit(npz []byte, split string) (Split, error) {
	if split != "train" && split != "val" {
		return Split{}, fmt.Errorf("split %q: must be train or val", split)
	}
	r := bytes.NewReader(npz)
	imgs, err := ReadNPZArray(r, int64(len(npz)), split+"_images")
	if err != nil {
		return Split{}, err
	}
	labs, err := ReadNPZArray(r, int64(len(npz)), split+"_labels")
	if err != nil {
		return Split{}, err
	}
	if len(imgs.Shape) != 3 || imgs.Shape[1] != ImageSide || imgs.Shape[2] != ImageSide {
		return Split{}, fmt.Errorf("%s_images: shape %v, want (N,%d,%d)", split, imgs.Shape, ImageSide, ImageSide)
	}
	n := imgs.Shape[0]
	if len(labs.Data) != n {
		return Split{}, fmt.Errorf("%s_labels: %d labels for %d images", split, len(labs.Data), n)
	}
	out := Split{Images: make([][]uint8, n), Labels: make([]uint8, n)}
	for i := range n {
		out.Images[i] = imgs.Data[i*ImageSize : (i+1)*ImageSize : (i+1)*ImageSize]
		if l := labs.Data[i]; l > 1 {
			return Split{}, fmt.Errorf("%s_labels[%d]: %d, must be 0 or 1", split, i, l)
		}
		out.Labels[i] = labs.Data[i]
	}
	return out, nil
}
