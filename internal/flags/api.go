package flags

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
)

const maxDocument = 8 << 20

// getDocument returns the serving document with its version, ETag and the last reload error.
func (h *handler) getDocument(w http.ResponseWriter, r *http.Request, _ string) {
	set := h.opts.Store.Current()
	out := map[string]any{}
	if set != nil {
		var doc any
		_ = json.Unmarshal(set.document, &doc)
		out["version"], out["etag"], out["document"] = set.version, set.etag, doc
	}
	if err := h.opts.Store.LastError(); err != nil {
		out["lastError"] = err.Error()
	}
	writeJSON(w, http.StatusOK, out)
}

func readBody(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxDocument+1))
	if err != nil {
		return nil, fmt.Errorf("read request body: %w", err)
	}
	if len(body) > maxDocument {
		return nil, fmt.Errorf("request body is larger than %d bytes", maxDocument)
	}
	return body, nil
}

// writeChangeResult answers a change request: 200 with the new version, or 400 with the
// rule violated (the serving set is unchanged), or 500.
func writeChangeResult(w http.ResponseWriter, set *FlagSet, err error) {
	var pe *ParseError
	switch {
	case errors.As(err, &pe):
		writeJSON(w, http.StatusBadRequest, map[string]string{"errorCode": string(ErrParse), "path": pe.Path, "errorDetails": pe.Error()})
	case err != nil:
		writeJSON(w, http.StatusInternalServerError, map[string]string{"errorCode": string(ErrGeneral), "errorDetails": err.Error()})
	default:
		writeJSON(w, http.StatusOK, map[string]any{"version": set.version, "etag": set.etag})
	}
}

func (h *handler) putDocument(w http.ResponseWriter, r *http.Request, actor string) {
	body, err := readBody(r)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"errorCode": string(ErrParse), "errorDetails": err.Error()})
		return
	}
	set, err := h.opts.Store.ReplaceAll(r.Context(), actor, body)
	writeChangeResult(w, set, err)
}

func (h *handler) putFlag(w http.ResponseWriter, r *http.Request, actor string) {
	body, err := readBody(r)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"errorCode": string(ErrParse), "errorDetails": err.Error()})
		return
	}
	set, err := h.opts.Store.PutFlag(r.Context(), actor, r.PathValue("key"), body)
	writeChangeResult(w, set, err)
}

func (h *handler) deleteFlag(w http.ResponseWriter, r *http.Request, actor string) {
	key := r.PathValue("key")
	set, err := h.opts.Store.DeleteFlag(r.Context(), actor, key)
	var pe *ParseError
	if errors.As(err, &pe) && pe.Msg == "no such flag" {
		writeJSON(w, http.StatusNotFound, map[string]string{"key": key, "errorCode": string(ErrFlagNotFound), "errorDetails": pe.Error()})
		return
	}
	writeChangeResult(w, set, err)
}

// events streams change events as Server-Sent Events in the OFREP format
// (event "message", data {"type": "refetchEvaluation", "etag", "lastModified"}) with
// shipsafe's details added (version, source, actor, changed flags, error). A rejected
// reload is sent as type "reloadFailed" with the error and its JSON path.
func (h *handler) events(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"errorDetails": "streaming unsupported"})
		return
	}
	ch := h.opts.Store.Subscribe(r.Context())
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, ": shipsafe flag change events\n\n")
	fl.Flush()
	seq := 0
	for ev := range ch {
		seq++
		typ := "refetchEvaluation"
		if ev.Error != "" {
			typ = "reloadFailed"
		}
		data, _ := json.Marshal(map[string]any{
			"type": typ, "etag": ev.ETag, "lastModified": ev.Time.Unix(), "version": ev.Version,
			"source": ev.Source, "actor": ev.Actor, "action": ev.Action, "changed": ev.Changed, "error": ev.Error,
		})
		if _, err := fmt.Fprintf(w, "id: %d-%s\nevent: message\ndata: %s\n\n", ev.Version, strconv.Itoa(seq), data); err != nil {
			return
		}
		fl.Flush()
	}
}
