package detectorbench

import (
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"

	"github.com/shipsafe/shipsafe/internal/detector/server"
	"github.com/shipsafe/shipsafe/models"
)

// TestOIPCurlScript runs bench/detector/oip_curl.sh (curl, unzip, od: no shipsafe client code)
// against a real detector server on loopback and checks the prediction came back.
func TestOIPCurlScript(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "unzip", "od"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed: %v", tool, err)
		}
	}
	m, err := models.Load("v2")
	if err != nil {
		t.Fatal(err)
	}
	s := server.New(server.Options{})
	s.SetModel(m)
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	out, err := exec.Command("bash", "oip_curl.sh", ts.URL, "3").CombinedOutput()
	if err != nil {
		t.Fatalf("oip_curl.sh: %v\n%s", err, out)
	}
	for _, want := range []string{`"ready":true`, `"id":"curl-3"`, `"model_version":"v2"`, `"name":"probability"`, `"name":"label"`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %s:\n%s", want, out)
		}
	}
}
