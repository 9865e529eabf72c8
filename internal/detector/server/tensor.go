package server

import (
	"fmt"
	"math"
	"strconv"
)

// parseTensorData flattens an OIP tensor's "data" (a flat or nested JSON array of numbers, already
// known to be syntactically valid JSON) into dst, checking every value against the datatype's
// pixel rule. It stops at want+1 values so an oversized array costs nothing extra.
func parseTensorData(raw []byte, datatype string, want int, dst []float32) ([]float32, error) {
	dst = dst[:0]
	i := 0
	n := len(raw)
	depth := 0
	for i < n {
		switch c := raw[i]; {
		case c == '[':
			depth++
			i++
		case c == ']':
			depth--
			i++
		case c == ',' || c == ' ' || c == '\n' || c == '\r' || c == '\t':
			i++
		case c == '"':
			j := i + 1
			for j < n && raw[j] != '"' {
				if raw[j] == '\\' {
					j++
				}
				j++
			}
			s := string(raw[i+1 : min(j, n)])
			if isNaNWord(s) {
				return nil, fmt.Errorf("inputs[0].data[%d] is %q: pixel values must be finite numbers in [0, 255]", len(dst), s)
			}
			return nil, fmt.Errorf("inputs[0].data[%d] is the string %q: want a number", len(dst), s)
		case c == '-' || (c >= '0' && c <= '9'):
			j := i + 1
			for j < n && (raw[j] == '.' || raw[j] == 'e' || raw[j] == 'E' || raw[j] == '+' || raw[j] == '-' || (raw[j] >= '0' && raw[j] <= '9')) {
				j++
			}
			if len(dst) >= want {
				return nil, fmt.Errorf("inputs[0].data has more than %d values; the shape needs exactly %d", want, want)
			}
			v, ok := smallUint(raw[i:j])
			if !ok { // not a plain integer of up to 9 digits: the general (slower) path
				var err error
				if v, err = strconv.ParseFloat(string(raw[i:j]), 64); err != nil {
					return nil, fmt.Errorf("inputs[0].data[%d] = %s: %v", len(dst), raw[i:j], err)
				}
			}
			if err := checkPixel(datatype, len(dst), v); err != nil {
				return nil, err
			}
			dst = append(dst, float32(v))
			i = j
		default:
			return nil, fmt.Errorf("inputs[0].data[%d]: want a number, found %q", len(dst), string(raw[i:min(i+8, n)]))
		}
	}
	if depth != 0 || n == 0 || raw[0] != '[' {
		return nil, fmt.Errorf("inputs[0].data: must be a JSON array of numbers")
	}
	if len(dst) != want {
		return nil, fmt.Errorf("inputs[0].data has %d values; the shape needs %d", len(dst), want)
	}
	return dst, nil
}

func checkPixel(datatype string, i int, v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Errorf("inputs[0].data[%d] is not finite: pixel values must be finite numbers in [0, 255]", i)
	}
	if v < 0 || v > 255 {
		return fmt.Errorf("inputs[0].data[%d] = %g: pixel values must be in [0, 255]", i, v)
	}
	if datatype == "UINT8" && v != math.Trunc(v) {
		return fmt.Errorf("inputs[0].data[%d] = %g: UINT8 values must be integers", i, v)
	}
	return nil
}

func isNaNWord(s string) bool {
	switch s {
	case "NaN", "nan", "NAN", "Infinity", "-Infinity", "inf", "-inf", "Inf", "-Inf":
		return true
	}
	return false
}

// smallUint parses a token of 1-9 decimal digits, the common case for pixel values, without the
// allocation and generality of strconv.ParseFloat.
func smallUint(tok []byte) (float64, bool) {
	if len(tok) == 0 || len(tok) > 9 {
		return 0, false
	}
	n := 0
	for _, c := range tok {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return float64(n), true
}
