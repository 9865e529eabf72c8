// Package crds holds the CustomResourceDefinitions of the argoproj.io kinds, generated from
// api/v1alpha1 by controller-gen (go generate ./api/v1alpha1), so a controller can install
// them from its own binary without a copy that could drift.
package crds

import "embed"

// Files holds the CRD YAML files (one CRD per file).
//
//go:embed *.yaml
var Files embed.FS
