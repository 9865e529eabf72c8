// Package model holds the pneumonia detector's artifact format and its inference forward pass.
//
// An artifact is one self-describing file:
//
//	"SSMODEL1" | uint32 LE header length | header JSON (Metadata) | float32 LE parameters |
//	"SHA256" | 32-byte SHA-256 of every byte before the trailer
//
// The trailer makes a truncated or corrupted file fail to load with a clear error; an expected
// digest (from the models manifest) can additionally pin the exact file.
package model

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
)

const (
	artifactMagic = "SSMODEL1"
	trailerTag    = "SHA256"
	trailerLen    = len(trailerTag) + sha256.Size
	// maxHeaderBytes bounds the JSON header so a corrupt length cannot allocate gigabytes.
	maxHeaderBytes = 1 << 20
)

// Metadata describes a model version: everything a server, a dashboard or an auditor needs to
// know without running it.
type Metadata struct {
	Name         string     `json:"name"`
	Version      string     `json:"version"`
	Architecture string     `json:"architecture"`
	Description  string     `json:"description,omitempty"`
	Input        InputSpec  `json:"input"`
	Preprocess   Preprocess `json:"preprocess"`
	Layers       []Layer    `json:"layers"`
	// Threshold: a probability >= Threshold is labelled pneumonia (1).
	Threshold  float64      `json:"threshold"`
	Labels     []string     `json:"labels"`
	Training   TrainingInfo `json:"training"`
	ValMetrics Metrics      `json:"val_metrics"`
	// ParamCount is the number of float32 parameters stored after the header.
	ParamCount int `json:"param_count"`
}

// InputSpec is what the model accepts, as advertised in OIP model metadata.
type InputSpec struct {
	Name      string   `json:"name"`
	Datatypes []string `json:"datatypes"`
	Shape     []int    `json:"shape"`
	// Range of accepted pixel values; FP32 inputs use the same 0-255 intensity scale as UINT8.
	Range [2]float64 `json:"range"`
}

// Preprocess maps a raw 0-255 pixel p to the network input:
// x = ((Invert ? 255-p : p) * Scale - Mean) / Std.
type Preprocess struct {
	Invert bool    `json:"invert"`
	Scale  float64 `json:"scale"`
	Mean   float64 `json:"mean"`
	Std    float64 `json:"std"`
}

// TrainingInfo records how the artifact was produced so it can be reproduced.
type TrainingInfo struct {
	DataFile   string `json:"data_file"`
	DataSHA256 string `json:"data_sha256"`
	Notes      string `json:"notes,omitempty"`
	Seed       int64  `json:"seed"`
	Epochs     int    `json:"epochs"`
	BatchSize  int    `json:"batch_size"`
	Optimizer  string `json:"optimizer"`
	Library    string `json:"library"`
	Command    string `json:"command"`
}

// Metrics are binary-classification figures on a labelled split.
type Metrics struct {
	N                int     `json:"n"`
	Accuracy         float64 `json:"accuracy"`
	BalancedAccuracy float64 `json:"balanced_accuracy"`
	AUC              float64 `json:"roc_auc"`
	Sensitivity      float64 `json:"sensitivity"`
	Specificity      float64 `json:"specificity"`
}

// Encode serialises metadata and parameters into artifact bytes with the digest trailer.
func Encode(meta Metadata, params []float32) ([]byte, error) {
	meta.ParamCount = len(params)
	header, err := json.Marshal(meta)
	if err != nil {
		return nil, fmt.Errorf("encode model metadata: %w", err)
	}
	var buf bytes.Buffer
	buf.Grow(len(artifactMagic) + 4 + len(header) + 4*len(params) + trailerLen)
	buf.WriteString(artifactMagic)
	_ = binary.Write(&buf, binary.LittleEndian, uint32(len(header)))
	buf.Write(header)
	var word [4]byte
	for _, p := range params {
		binary.LittleEndian.PutUint32(word[:], math.Float32bits(p))
		buf.Write(word[:])
	}
	sum := sha256.Sum256(buf.Bytes())
	buf.WriteString(trailerTag)
	buf.Write(sum[:])
	return buf.Bytes(), nil
}

// Digest returns the hex SHA-256 of a whole artifact file, as listed in the models manifest.
func Digest(artifact []byte) string {
	sum := sha256.Sum256(artifact)
	return hex.EncodeToString(sum[:])
}

// Decode verifies an artifact's digests and returns its metadata and parameters. If wantSHA256 is
// not empty, the SHA-256 of the whole file must equal it as well.
func Decode(artifact []byte, wantSHA256 string) (Metadata, []float32, error) {
	if wantSHA256 != "" {
		if got := Digest(artifact); got != wantSHA256 {
			return Metadata{}, nil, fmt.Errorf("artifact sha256 is %s, manifest wants %s: file is corrupt or not the released one", got, wantSHA256)
		}
	}
	minLen := len(artifactMagic) + 4 + trailerLen
	if len(artifact) < minLen {
		return Metadata{}, nil, fmt.Errorf("artifact is %d bytes, shorter than the %d-byte minimum: truncated", len(artifact), minLen)
	}
	if string(artifact[:len(artifactMagic)]) != artifactMagic {
		return Metadata{}, nil, errors.New("artifact does not start with the SSMODEL1 magic: not a shipsafe model file")
	}
	body, trailer := artifact[:len(artifact)-trailerLen], artifact[len(artifact)-trailerLen:]
	sum := sha256.Sum256(body)
	if string(trailer[:len(trailerTag)]) != trailerTag || !bytes.Equal(trailer[len(trailerTag):], sum[:]) {
		return Metadata{}, nil, errors.New("artifact SHA-256 trailer does not match its contents: file is truncated or corrupt")
	}
	headerLen := int(binary.LittleEndian.Uint32(body[len(artifactMagic):]))
	start := len(artifactMagic) + 4
	if headerLen > maxHeaderBytes || start+headerLen > len(body) {
		return Metadata{}, nil, fmt.Errorf("artifact header length %d exceeds the file: corrupt", headerLen)
	}
	var meta Metadata
	if err := json.Unmarshal(body[start:start+headerLen], &meta); err != nil {
		return Metadata{}, nil, fmt.Errorf("artifact metadata: %w", err)
	}
	raw := body[start+headerLen:]
	if len(raw) != 4*meta.ParamCount {
		return Metadata{}, nil, fmt.Errorf("artifact holds %d parameter bytes, metadata says %d params (%d bytes)", len(raw), meta.ParamCount, 4*meta.ParamCount)
	}
	params := make([]float32, meta.ParamCount)
	for i := range params {
		params[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return meta, params, nil
}
