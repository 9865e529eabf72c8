package flags

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"strconv"
)

// ofrepRequest is the body of both OFREP evaluation endpoints.
type ofrepRequest struct {
	Context any `json:"context"`
}

// ofrepEvaluation is one flag's OFREP result: success fields or failure fields.
type ofrepEvaluation struct {
	Key          string         `json:"key"`
	Value        any            `json:"value,omitempty"`
	Reason       Reason         `json:"reason,omitempty"`
	Variant      string         `json:"variant,omitempty"`
	Metadata     map[string]any `json:"metadata,omitempty"`
	Cacheable    *bool          `json:"cacheable,omitempty"`
	ErrorCode    ErrorCode      `json:"errorCode,omitempty"`
	ErrorDetails string         `json:"errorDetails,omitempty"`
}

func toOFREP(r Result) ofrepEvaluation {
	if r.ErrorCode != "" {
		return ofrepEvaluation{Key: r.Key, ErrorCode: r.ErrorCode, ErrorDetails: r.ErrorDetails, Metadata: r.Metadata}
	}
	return ofrepEvaluation{Key: r.Key, Value: r.Value, Reason: r.Reason, Variant: r.Variant, Metadata: r.Metadata}
}

// statusFor maps an evaluation error code to the OFREP HTTP status: 404 for
// FLAG_NOT_FOUND, 400 with the code for every other evaluation error (OFREP's
// "evaluation failure" response, GENERAL included). A server that cannot evaluate at all
// (no flag set loaded) answers 500 on its own.
func statusFor(code ErrorCode) int {
	switch code {
	case "":
		return http.StatusOK
	case ErrFlagNotFound:
		return http.StatusNotFound
	}
	return http.StatusBadRequest
}

// readContext decodes the request body's evaluation context. The error is
// INVALID_CONTEXT-worthy (bad JSON, context not an object, targetingKey not a string).
func readContext(r *http.Request) (Context, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20+1))
	if err != nil {
		return Context{}, fmt.Errorf("read request body: %w", err)
	}
	if len(body) > 1<<20 {
		return Context{}, errors.New("request body is larger than 1 MiB")
	}
	var req ofrepRequest
	if len(body) > 0 {
		if err := json.Unmarshal(body, &req); err != nil {
			return Context{}, fmt.Errorf("request body is not a JSON object {\"context\": {...}}: %w", err)
		}
	}
	return ContextFromJSON(req.Context)
}

func (h *handler) evaluateOne(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	c, err := readContext(r)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, ofrepEvaluation{Key: key, ErrorCode: ErrInvalidContext, ErrorDetails: err.Error()})
		return
	}
	set := h.opts.Store.Current()
	if set == nil {
		writeJSON(w, http.StatusInternalServerError, ofrepEvaluation{Key: key, ErrorCode: ErrGeneral, ErrorDetails: "no flag definitions are loaded"})
		return
	}
	res := set.Evaluate(key, &c)
	out := toOFREP(res)
	if res.ErrorCode == "" && res.Reason == ReasonStatic {
		t := true
		out.Cacheable = &t
	}
	writeJSON(w, statusFor(res.ErrorCode), out)
}

type refreshConnection struct {
	Type string `json:"type"`
	URL  string `json:"url"`
}

type bulkResponse struct {
	Flags              []ofrepEvaluation   `json:"flags"`
	RefreshConnections []refreshConnection `json:"refreshConnections,omitempty"`
	Metadata           map[string]any      `json:"metadata,omitempty"`
}

// evaluateBulk evaluates every flag for the context. Disabled flags are included with
// reason DISABLED; per-flag errors are inline. The ETag is a hash of the response, so it
// changes when either the definitions or this context's results change; a matching
// If-None-Match gets 304 with no body.
func (h *handler) evaluateBulk(w http.ResponseWriter, r *http.Request) {
	c, err := readContext(r)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"errorCode": string(ErrInvalidContext), "errorDetails": err.Error()})
		return
	}
	set := h.opts.Store.Current()
	if set == nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"errorCode": string(ErrGeneral), "errorDetails": "no flag definitions are loaded"})
		return
	}
	resp := bulkResponse{
		Flags:              make([]ofrepEvaluation, 0, len(set.keys)),
		RefreshConnections: []refreshConnection{{Type: "sse", URL: h.opts.EventsURL}},
		Metadata:           map[string]any{"version": strconv.FormatUint(set.version, 10)},
	}
	for _, k := range set.keys {
		resp.Flags = append(resp.Flags, toOFREP(set.Evaluate(k, &c)))
	}
	body, err := json.Marshal(resp)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"errorDetails": "encode response: " + err.Error()})
		return
	}
	hash := fnv.New64a()
	hash.Write(body)
	etag := `"` + strconv.FormatUint(hash.Sum64(), 16) + `"`
	if etagMatches(r.Header.Get("If-None-Match"), etag) {
		w.Header().Set("ETag", etag)
		w.WriteHeader(http.StatusNotModified)
		return
	}
	writeBytes(w, http.StatusOK, etag, append(body, '\n'))
}

// configuration answers GET /ofrep/v1/configuration.
func (h *handler) configuration(w http.ResponseWriter, r *http.Request) {
	body, _ := json.Marshal(map[string]any{
		"name": "shipsafe",
		"capabilities": map[string]any{
			"cacheInvalidation": map[string]any{"polling": map[string]any{"enabled": true, "minPollingIntervalMs": 1000}},
			"flagEvaluation":    map[string]any{"supportedTypes": []string{"int", "float", "string", "boolean", "object"}},
		},
	})
	hash := fnv.New64a()
	hash.Write(body)
	etag := `"` + strconv.FormatUint(hash.Sum64(), 16) + `"`
	if etagMatches(r.Header.Get("If-None-Match"), etag) {
		w.Header().Set("ETag", etag)
		w.WriteHeader(http.StatusNotModified)
		return
	}
	writeBytes(w, http.StatusOK, etag, append(body, '\n'))
}
