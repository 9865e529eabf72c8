package main

import (
	"encoding/json"
	"io"
)

// newJSONEncoder writes indented JSON without HTML escaping: CLI output is read by people
// and jq, not embedded in HTML, so "result > 0.9" must stay readable (not "\u003e").
func newJSONEncoder(w io.Writer) *json.Encoder {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc
}
