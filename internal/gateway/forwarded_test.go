package gateway

import (
	"net/http"
	"testing"
)

func TestForwardedHeaders(t *testing.T) {
	echo := startBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Seen-XFF", r.Header.Get("X-Forwarded-For"))
		w.Header().Set("Seen-Proto", r.Header.Get("X-Forwarded-Proto"))
		w.Header().Set("Seen-Forwarded", r.Header.Get("Forwarded"))
	}))
	for _, tc := range []struct {
		mode, xff, forwarded string
	}{
		{"", "10.0.0.9, 127.0.0.1", ""},
		{ForwardedRFC7239, "10.0.0.9", `for=10.0.0.9, for=127.0.0.1;proto=http`},
		{ForwardedBoth, "10.0.0.9, 127.0.0.1", `for=10.0.0.9, for=127.0.0.1;proto=http`},
		{ForwardedNone, "10.0.0.9", "for=10.0.0.9"},
	} {
		g := New(Config{Forwarded: tc.mode}, nil)
		if err := g.SetRoutes(oneService(Revision{Name: "stable", Weight: 1, Endpoints: eps(echo.addr)})); err != nil {
			t.Fatal(err)
		}
		base := startGateway(t, g)
		req, _ := http.NewRequest(http.MethodGet, base+"/", nil)
		req.Header.Set("X-Forwarded-For", "10.0.0.9")
		req.Header.Set("Forwarded", "for=10.0.0.9")
		resp, err := testClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("Seen-XFF"); got != tc.xff {
			t.Errorf("mode %q: X-Forwarded-For %q, want %q", tc.mode, got, tc.xff)
		}
		if got := resp.Header.Get("Seen-Forwarded"); tc.forwarded != "" && got != tc.forwarded {
			t.Errorf("mode %q: Forwarded %q, want %q", tc.mode, got, tc.forwarded)
		}
	}
}
