// Package pluginv1 holds the Go code generated from plugin.proto, the
// Amtsweg plugin protocol version 1. Do not edit the *.pb.go files; change
// plugin.proto and regenerate with `go generate` (plugins/proto/README.md
// lists the tools it needs).
package pluginv1

//go:generate protoc --proto_path=../../.. --go_out=../../.. --go_opt=paths=source_relative --go-grpc_out=../../.. --go-grpc_opt=paths=source_relative amtsweg/plugin/v1/plugin.proto
