// Package benchplugin is the plugin the benchmark suite's procedures call:
// a tiny plugin built with plugins/sdk whose three activities stand for the
// specialist-system calls of a real procedure (register the application,
// check it, archive it). Each does a little real work (hashing its input)
// and answers at once, so that a benchmark measures the engine's cost of a
// plugin call, not a remote system's.
//
// The suite runs it as a separate process, exactly as the worker runs any
// plugin: Install writes a small executable into a plugin directory that
// starts the benchmark binary in its plugin mode (the multi-call trick of
// the bundled plugins), and that mode calls Serve.
package benchplugin
