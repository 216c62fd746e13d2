// Command dbos is baseline B of the Amtsweg benchmark suite: the benchmark
// procedure's shape (three steps calling the benchmark plugin, one clerk's
// task, done) written on DBOS Transact for Go, against the same PostgreSQL
// as Amtsweg. It lives in its own Go module so that DBOS does not become a
// dependency of the product; the suite builds and runs it as a subprocess
// and reads the JSON it prints:
//
//	go run . -database-url postgres://... -plugins <dir> -n 2000 -rate 50
//
// The plugin runs as a separate process through Amtsweg's plugin host, as
// in the other two systems.
package main
