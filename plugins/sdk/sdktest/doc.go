// Package sdktest runs a plugin made with the SDK in-process over real gRPC
// (go-plugin's test server), so a plugin's handlers, schemas and error
// classification can be unit-tested without the host or a built binary.
package sdktest
