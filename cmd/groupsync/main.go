// Command groupsync keeps enterprise chat groups on Yunzhijia and Lunkr in
// the state that YAML manifests declare. See `groupsync help`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	// Every vendor groupsync drives, registered in one place.
	_ "groupsync/internal/vendors/registry"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	a := &app{
		stdin:    os.Stdin,
		stdout:   os.Stdout,
		stderr:   os.Stderr,
		getenv:   os.LookupEnv,
		terminal: isTerminal(os.Stdin) && isTerminal(os.Stdout),
	}
	stopProfile := startProfile()
	code := a.run(ctx, os.Args[1:])
	stopProfile()
	os.Exit(code)
}
