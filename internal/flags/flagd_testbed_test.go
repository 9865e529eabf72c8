package flags_test

import (
	"net/http/httptest"
	"testing"

	"github.com/shipsafe/shipsafe/internal/flags"
	"github.com/shipsafe/shipsafe/internal/flags/flagdtestbed"
)

// TestFlagdTestbed runs flagd's conformance suite (flagd-testbed, both suites, see
// testdata/flagd-testbed/README.md) through OFREP: the handler `shipsafe flags serve`
// mounts, over real HTTP on 127.0.0.1, one server per flag source. Every scenario that
// applies must pass; the excluded ones are skipped with their reason and counted apart.
func TestFlagdTestbed(t *testing.T) {
	serve := func(source string, doc []byte) (string, error) {
		store := flags.NewStore(flags.StoreOptions{})
		if _, err := store.Load(t.Context(), doc, "file", "", "file.load"); err != nil {
			return "", err
		}
		srv := httptest.NewServer(flags.NewHandler(flags.HandlerOptions{Store: store}))
		t.Cleanup(srv.Close)
		return srv.URL, nil
	}
	for _, suite := range []string{flagdtestbed.EvaluatorSuite, flagdtestbed.ProviderSuite} {
		t.Run(suite, func(t *testing.T) {
			sum := flagdtestbed.Run(t, "testdata/flagd-testbed", suite, serve)
			t.Log(sum)
			if sum.Failed > 0 || sum.Passed == 0 {
				t.Errorf("%s", sum)
			}
		})
	}
}
