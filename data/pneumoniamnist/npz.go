package pneumoniamnist

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// Array is one uint8 .npy array read from an .npz file, in C (row-major) order.
type Array struct {
	Shape []int
	Data  []uint8
}

// npyMagic opens every .npy file (format spec: numpy.lib.format).
const npyMagic = "\x93NUMPY"

// ReadNPZArray reads the uint8 array named key (without ".npy") from the .npz archive in r.
func ReadNPZArray(r io.ReaderAt, size int64, key string) (Array, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return Array{}, fmt.Errorf("open npz: %w", err)
	}
	f, err := zr.Open(key + ".npy")
	if err != nil {
		return Array{}, fmt.Errorf("npz array %q: %w", key, err)
	}
	defer f.Close()
	raw, err := io.ReadAll(f)
	if err != nil {
		return Array{}, fmt.Errorf("read npz array %q: %w", key, err)
	}
	arr, err := parseNPY(raw)
	if err != nil {
		return Array{}, fmt.Errorf("npz array %q: %w", key, err)
	}
	return arr, nil
}

var (
	descrRe = regexp.MustCompile(`'descr':\s*'([^']*)'`)
	orderRe = regexp.MustCompile(`'fortran_order':\s*(True|False)`)
	shapeRe = regexp.MustCompile(`'shape':\s*\(([^)]*)\)`)
)

// parseNPY decodes a version 1, 2 or 3 .npy file holding uint8 data in C order.
func parseNPY(raw []byte) (Array, error) {
	if len(raw) < 10 || !bytes.HasPrefix(raw, []byte(npyMagic)) {
		return Array{}, errors.New("not an .npy file: missing \\x93NUMPY magic")
	}
	major := raw[6]
	var headerLen, offset int
	switch major {
	case 1:
		headerLen, offset = int(binary.LittleEndian.Uint16(raw[8:10])), 10
	case 2, 3:
		if len(raw) < 12 {
			return Array{}, errors.New(".npy header truncated")
		}
		headerLen, offset = int(binary.LittleEndian.Uint32(raw[8:12])), 12
	default:
		return Array{}, fmt.Errorf(".npy version %d is not supported (want 1, 2 or 3)", major)
	}
	if offset+headerLen > len(raw) {
		return Array{}, errors.New(".npy header truncated")
	}
	header := string(raw[offset : offset+headerLen])
	body := raw[offset+headerLen:]

	descr := descrRe.FindStringSubmatch(header)
	if descr == nil || (descr[1] != "|u1" && descr[1] != "u1" && descr[1] != "<u1") {
		return Array{}, fmt.Errorf(".npy dtype must be uint8 (|u1), header is %q", header)
	}
	if order := orderRe.FindStringSubmatch(header); order == nil || order[1] != "False" {
		return Array{}, errors.New(".npy fortran_order must be False")
	}
	shapeM := shapeRe.FindStringSubmatch(header)
	if shapeM == nil {
		return Array{}, fmt.Errorf(".npy header has no shape: %q", header)
	}
	var shape []int
	total := 1
	for _, part := range strings.Split(shapeM[1], ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		n, err := strconv.Atoi(part)
		if err != nil || n < 0 {
			return Array{}, fmt.Errorf(".npy shape %q: bad dimension %q", shapeM[1], part)
		}
		shape = append(shape, n)
		total *= n
	}
	if len(body) != total {
		return Array{}, fmt.Errorf(".npy body has %d bytes, shape %v needs %d", len(body), shape, total)
	}
	return Array{Shape: shape, Data: body}, nil
}
