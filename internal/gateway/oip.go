package gateway

import (
	"bytes"
	"strconv"
	"unsafe"
)

// This file reads the few fields the gateway needs from Open Inference Protocol (KServe v2)
// JSON bodies with a small allocation-free scanner: the request "id" and one "parameters"
// entry, and the response's prediction. It is tolerant: anything it cannot read is simply
// absent, and the body is always forwarded unchanged.

// prediction is what a model answered for one request.
type prediction struct {
	label    int64
	prob     float64
	hasLabel bool
	hasProb  bool
}

func (p prediction) ok() bool { return p.hasLabel || p.hasProb }

// isInferPath reports whether path is an OIP inference call:
// .../v2/models/{name}[/versions/{v}]/infer
func isInferPath(path []byte) bool {
	return bytes.HasSuffix(path, []byte("/infer")) && bytes.Contains(path, []byte("/v2/models/"))
}

// oipRequestFields returns the top-level "id" (raw string contents) and, when param is
// non-empty, the value of parameters[param] rendered as text.
func oipRequestFields(body []byte, param string) (id, paramValue []byte) {
	forEachMember(body, func(key, val []byte) bool {
		switch {
		case string(key) == "id":
			id = stringContents(val)
		case param != "" && string(key) == "parameters":
			forEachMember(val, func(k, v []byte) bool {
				if string(k) == param {
					if s := stringContents(v); s != nil {
						paramValue = s
					} else {
						paramValue = bytes.TrimSpace(v)
					}
					return false
				}
				return true
			})
		}
		return true
	})
	return id, paramValue
}

// maxBatchItems bounds how many items of one batched answer are recorded.
const maxBatchItems = 1024

// oipOutputData returns the raw "data" values of an inference response's probability and
// label outputs, recognised by name: "probability"/"prob"/"score" give the probability,
// "label"/"class"/"prediction" the label. Either may be nil. Nothing is copied.
func oipOutputData(body []byte) (prob, label []byte) {
	forEachMember(body, func(key, val []byte) bool {
		if string(key) != "outputs" {
			return true
		}
		forEachElement(val, func(out []byte) bool {
			var name, data []byte
			forEachMember(out, func(k, v []byte) bool {
				switch string(k) {
				case "name":
					name = stringContents(v)
				case "data":
					data = v
				}
				return true
			})
			switch classifyOutput(name) {
			case outputProbability:
				prob = data
			case outputLabel:
				label = data
			}
			return true
		})
		return false
	})
	return prob, label
}

// predictionItems walks the items of a (possibly batched) answer in order: item i is the
// i-th number of the probability data and of the label data (nested arrays such as shape
// [N,1] are read flat). A probability without a label implies label = probability >= 0.5.
type predictionItems struct {
	prob, label []byte
	pi, li      int
}

func newPredictionItems(body []byte) predictionItems {
	prob, label := oipOutputData(body)
	return predictionItems{prob: prob, label: label}
}

// next returns the next item, or false when neither output has one left.
func (it *predictionItems) next() (prediction, bool) {
	var p prediction
	if f, j, ok := nextNumber(it.prob, it.pi); ok {
		p.prob, p.hasProb, it.pi = f, true, j
	}
	if f, j, ok := nextNumber(it.label, it.li); ok {
		p.label, p.hasLabel, it.li = int64(f), true, j
	}
	if p.hasProb && !p.hasLabel {
		p.hasLabel = true
		if p.prob >= 0.5 {
			p.label = 1
		}
	}
	return p, p.ok()
}

// oipPrediction extracts the first item's prediction from an inference response.
func oipPrediction(body []byte) prediction {
	it := newPredictionItems(body)
	p, _ := it.next()
	return p
}

type outputKind uint8

const (
	outputOther outputKind = iota
	outputProbability
	outputLabel
)

func classifyOutput(name []byte) outputKind {
	switch {
	case containsFold(name, "prob") || containsFold(name, "score"):
		return outputProbability
	case containsFold(name, "label") || containsFold(name, "class") || containsFold(name, "prediction"):
		return outputLabel
	}
	return outputOther
}

// containsFold reports whether s contains the lower-case ASCII word sub, ignoring case.
func containsFold(s []byte, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		j := 0
		for ; j < len(sub); j++ {
			c := s[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != sub[j] {
				break
			}
		}
		if j == len(sub) {
			return true
		}
	}
	return false
}

// bytesToString views b as a string without copying; the caller must not keep it.
func bytesToString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// nextNumber reads the number (or true/false) at or after v[i], skipping array brackets,
// commas and spaces, and returns it with the index just past it. It stops (false) at the
// end of v or at anything else.
func nextNumber(v []byte, i int) (float64, int, bool) {
	for i < len(v) && (v[i] == '[' || v[i] == ']' || v[i] == ',' || v[i] == ' ' || v[i] == '\n' || v[i] == '\t' || v[i] == '\r') {
		i++
	}
	j := i
	for j < len(v) && (v[j] == '-' || v[j] == '+' || v[j] == '.' || v[j] == 'e' || v[j] == 'E' || (v[j] >= '0' && v[j] <= '9')) {
		j++
	}
	if j == i {
		switch {
		case bytes.HasPrefix(v[i:], []byte("true")):
			return 1, i + 4, true
		case bytes.HasPrefix(v[i:], []byte("false")):
			return 0, i + 5, true
		}
		return 0, i, false
	}
	f, err := strconv.ParseFloat(bytesToString(v[i:j]), 64)
	return f, j, err == nil
}

// forEachMember calls f(key, rawValue) for each member of the JSON object in b until f
// returns false. Malformed input ends the walk silently.
func forEachMember(b []byte, f func(key, val []byte) bool) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return
	}
	i++
	for {
		i = skipSpace(b, i)
		if i >= len(b) || b[i] == '}' || b[i] != '"' {
			return
		}
		kEnd := skipString(b, i)
		if kEnd < 0 {
			return
		}
		key := b[i+1 : kEnd-1]
		i = skipSpace(b, kEnd)
		if i >= len(b) || b[i] != ':' {
			return
		}
		vStart := skipSpace(b, i+1)
		vEnd := skipValue(b, vStart)
		if vEnd < 0 {
			return
		}
		if !f(key, b[vStart:vEnd]) {
			return
		}
		i = skipSpace(b, vEnd)
		if i >= len(b) || b[i] != ',' {
			return
		}
		i++
	}
}

// forEachElement calls f(rawElement) for each element of the JSON array in b.
func forEachElement(b []byte, f func(elem []byte) bool) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '[' {
		return
	}
	i++
	for {
		i = skipSpace(b, i)
		if i >= len(b) || b[i] == ']' {
			return
		}
		end := skipValue(b, i)
		if end < 0 || !f(b[i:end]) {
			return
		}
		i = skipSpace(b, end)
		if i >= len(b) || b[i] != ',' {
			return
		}
		i++
	}
}

// stringContents returns the bytes between the quotes of a JSON string value (escapes
// left as they are), or nil when v is not a string.
func stringContents(v []byte) []byte {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return nil
	}
	return v[1 : len(v)-1]
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\t' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index just past the string starting at b[i] == '"', or -1.
func skipString(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}

// skipValue returns the index just past the JSON value starting at b[i], or -1.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				j = skipString(b, j)
				if j < 0 {
					return -1
				}
				j--
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	default:
		j := i
		for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\n' && b[j] != '\t' && b[j] != '\r' {
			j++
		}
		if j == i {
			return -1
		}
		return j
	}
}
