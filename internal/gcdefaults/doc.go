// Package gcdefaults sets the garbage collector's target (GOGC) and soft
// memory limit (GOMEMLIMIT) of the amtsweg binary when its environment
// does not: a process started with GOGC or GOMEMLIMIT set keeps what it
// was given. The defaults were chosen by measuring the benchmark suite's
// procedures phase (see docs/configuration.md).
package gcdefaults
