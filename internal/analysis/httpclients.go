package analysis

import (
	"crypto/tls"
	"net/http"
)

// HTTPClients returns the client HTTP-based providers use (c, or a fresh one when nil) and
// a copy of it that skips TLS verification, used only for metrics that set insecure: true.
func HTTPClients(c *http.Client) (client, insecure *http.Client) {
	if c == nil {
		c = &http.Client{}
	}
	skip := *c
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // only when the metric asks for it
	skip.Transport = tr
	return c, &skip
}
