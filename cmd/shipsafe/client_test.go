package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeDataDir writes the files `shipsafe up` leaves for the CLI.
func writeDataDir(t *testing.T, dir, addr, token string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "api.json"), []byte(`{"Addr":"`+addr+`"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "token"), []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestResolveAPIFindsTheNearestDataDirInParents(t *testing.T) {
	root := t.TempDir()
	writeDataDir(t, filepath.Join(root, ".shipsafe"), "127.0.0.1:7001", "tok-parent")
	deep := filepath.Join(root, "a", "b", "c")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	tgt, err := resolveAPI(apiFlags{}, envOf(nil), deep)
	if err != nil {
		t.Fatal(err)
	}
	if tgt.base != "http://127.0.0.1:7001" || tgt.token != "tok-parent" || !strings.Contains(tgt.source, filepath.Join(root, ".shipsafe")) {
		t.Errorf("got %+v", tgt)
	}
}

func TestResolveAPIPrecedence(t *testing.T) {
	root := t.TempDir()
	writeDataDir(t, filepath.Join(root, ".shipsafe"), "127.0.0.1:7001", "tok-dir")
	env := envOf(map[string]string{"SHIPSAFE_SERVER": "127.0.0.1:7002", "SHIPSAFE_TOKEN": "tok-env"})
	tgt, err := resolveAPI(apiFlags{}, env, root)
	if err != nil {
		t.Fatal(err)
	}
	if tgt.base != "http://127.0.0.1:7002" || tgt.token != "tok-env" || !strings.Contains(tgt.source, "SHIPSAFE_SERVER") {
		t.Errorf("env: got %+v", tgt)
	}
	tgt, err = resolveAPI(apiFlags{server: "http://127.0.0.1:7003/"}, env, root)
	if err != nil {
		t.Fatal(err)
	}
	if tgt.base != "http://127.0.0.1:7003" || tgt.token != "tok-env" || !strings.Contains(tgt.source, "--server") {
		t.Errorf("--server: got %+v", tgt)
	}
	tgt, err = resolveAPI(apiFlags{dataDir: filepath.Join(root, ".shipsafe"), dataDirSet: true}, envOf(nil), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if tgt.base != "http://127.0.0.1:7001" || tgt.token != "tok-dir" || !strings.Contains(tgt.source, "--data-dir") {
		t.Errorf("--data-dir: got %+v", tgt)
	}
}

func TestResolveAPINothingFoundSaysWhereItLooked(t *testing.T) {
	dir := t.TempDir()
	_, err := resolveAPI(apiFlags{}, envOf(nil), dir)
	if err == nil {
		t.Fatal("no error without any API")
	}
	for _, want := range []string{"SHIPSAFE_SERVER", "--server", ".shipsafe", dir, "shipsafe up"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}

func TestClientErrorNamesTheSourceWhenNothingAnswers(t *testing.T) {
	ts := httptest.NewServer(http.NotFoundHandler())
	addr := strings.TrimPrefix(ts.URL, "http://")
	ts.Close() // nothing listens there any more
	c := newClient(apiTarget{base: "http://" + addr, source: "SHIPSAFE_SERVER"})
	err := c.do(context.Background(), "GET", "/api/v1/rollouts", nil, nil)
	if err == nil || !strings.Contains(err.Error(), "no shipsafe API answered at http://"+addr+" (from SHIPSAFE_SERVER)") {
		t.Errorf("got %v", err)
	}
}
