// Package plugins is the shared contract between the Amtsweg worker and its
// plugins: the Go types of the plugin protocol (ActivitySpec, Call, Error),
// the Plugin interface both sides implement, the go-plugin handshake and the
// gRPC shims that carry the interface over the versioned protocol in
// plugins/proto/amtsweg/plugin/v1.
//
// The host that loads plugins lives in plugins/host, the SDK for plugin
// authors in plugins/sdk, and the plugins bundled with Amtsweg in
// plugins/fees, plugins/notify, plugins/efile, plugins/xbau and plugins/http.
// plugins/README.md describes the protocol and each bundled plugin.
package plugins
