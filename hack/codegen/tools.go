//go:build tools

// Package codegen pins the code generators of the API types (controller-gen for deep-copy
// functions and CRDs) in a module of their own, so the main module does not carry them.
package codegen

import _ "sigs.k8s.io/controller-tools/cmd/controller-gen"
