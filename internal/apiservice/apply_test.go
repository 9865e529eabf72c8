package apiservice_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/shipsafe/shipsafe/internal/apiservice"
	"github.com/shipsafe/shipsafe/internal/store/memory"
)

type nopWaker struct{}

func (nopWaker) Wake(context.Context, string) {}

// The seed's canary form (a pause with analysis under argoproj.io/v1alpha1) applies, and
// the apply answer carries the warning that it no longer runs on Argo Rollouts.
func TestApplyArgoManifestWithExtensionWarns(t *testing.T) {
	manifest, err := os.ReadFile("../../api/v1alpha1/manifest/testdata/valid/extension-under-argo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	svc, err := apiservice.New(apiservice.Options{Store: memory.New(time.Now), Waker: nopWaker{}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := svc.Apply(t.Context(), "test", manifest)
	if err != nil {
		t.Fatalf("apply refused: %v", err)
	}
	if len(res.Applied) != 2 {
		t.Fatalf("applied %v", res.Applied)
	}
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "steps[1].pause.analysis: is a shipsafe extension: this argoproj.io/v1alpha1 manifest no longer runs on Argo Rollouts") {
		t.Fatalf("warnings %q", res.Warnings)
	}
}
