// Command cairn is the wallet and query tool for a cairnd node: it keeps
// encrypted keys under <home>/wallet/, signs transfers, and talks to a
// node over JSON-RPC (docs/RPC.md).
//
// Every failure is one line on standard error, prefixed "cairn: ", and a
// non-zero exit status: 2 for a usage error, 1 for anything else.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args, os.Stdout, os.Stderr, os.Stdin)
	stop()
	os.Exit(code)
}
