// Command protovectors writes cairn's protocol test vectors,
// docs/protocol-vectors.json, which docs/PROTOCOL.md §28 explains:
//
//	go run ./internal/protovectors -o docs/protocol-vectors.json
//
// Every vector is computed by the implementation (chain/types, consensus,
// wallet). The file is generated once and pinned; this package's test
// recomputes every vector and fails when any differs from the pinned
// file, so a change to the protocol cannot go unnoticed. Regenerate it
// only for an intended change of the protocol.
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	out := flag.String("o", "", "write the vectors to this file (default: standard output)")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "protovectors: unexpected arguments:", flag.Args())
		os.Exit(2)
	}
	f, err := Build()
	if err == nil {
		var b []byte
		if b, err = f.Encode(); err == nil {
			if *out == "" {
				_, err = os.Stdout.Write(b)
			} else {
				err = os.WriteFile(*out, b, 0o644)
			}
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "protovectors:", err)
		os.Exit(1)
	}
}
