package rollout_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestEngineImportsNoNetworkOrExec checks the engine's dependency graph (tests excluded, as
// `go list -deps` reports it): no net, net/http or os/exec anywhere beneath it.
func TestEngineImportsNoNetworkOrExec(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not on PATH")
	}
	for _, pkg := range []string{".", "./sim"} {
		out, err := exec.Command(goBin, "list", "-deps", pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			switch dep {
			case "net", "net/http", "os/exec":
				t.Errorf("%s depends on %s: the engine must stay pure", pkg, dep)
			}
		}
	}
}
