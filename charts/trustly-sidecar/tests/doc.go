// Package tests checks the trustly-sidecar Helm chart offline: helm lint, helm template
// for every values file under ci/ and for the example shop chart, every rendered object
// decoded strictly into its Kubernetes API type, assertions on what the sidecar needs,
// and golden files of the rendered output (go test -update rewrites them).
//
// It is a module of its own so that the project's go.mod does not carry the
// Kubernetes API packages, which only these tests use.
package tests
