package pneumoniamnist

import (
	"archive/zip"
	"bytes"
	"strings"
	"testing"
)

func TestSplitsMatchPublishedCounts(t *testing.T) {
	for _, tc := range []struct {
		split             string
		normal, pneumonia int
	}{{"train", 1214, 3494}, {"val", 135, 389}} {
		s, err := LoadSplit(tc.split)
		if err != nil {
			t.Fatalf("LoadSplit(%q): %v", tc.split, err)
		}
		n, p := s.Counts()
		if n != tc.normal || p != tc.pneumonia {
			t.Errorf("%s: counts %d/%d, want %d/%d", tc.split, n, p, tc.normal, tc.pneumonia)
		}
		if len(s.Images[0]) != ImageSize {
			t.Errorf("%s: image has %d pixels, want %d", tc.split, len(s.Images[0]), ImageSize)
		}
	}
	imgs, labels, err := Val()
	if err != nil || len(imgs) != 524 || len(labels) != 524 {
		t.Fatalf("Val() = %d images, %d labels, %v", len(imgs), len(labels), err)
	}
}

func TestDecodeSplitRejectsBadInput(t *testing.T) {
	if _, err := DecodeSplit(npzFile, "test"); err == nil || !strings.Contains(err.Error(), "must be train or val") {
		t.Errorf("split test: err %v", err)
	}
	if _, err := DecodeSplit([]byte("not a zip"), "val"); err == nil || !strings.Contains(err.Error(), "open npz") {
		t.Errorf("garbage: err %v", err)
	}
	// A wrong-dtype array must be refused with the dtype named.
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("val_images.npy")
	hdr := "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 28, 28), }"
	w.Write(append([]byte{0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, byte(len(hdr)), 0}, hdr...))
	zw.Close()
	if _, err := DecodeSplit(buf.Bytes(), "val"); err == nil || !strings.Contains(err.Error(), "dtype must be uint8") {
		t.Errorf("float npy: err %v", err)
	}
}
