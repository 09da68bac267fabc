package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"groupsync/internal/vendors/lunkr"
	"groupsync/internal/vendors/yunzhijia"
)

// The app ids `simulate` accepts in auth: blocks.
const (
	simulateEID      = "10109"
	simulateClientID = "lk-app-1"
)

func (a *app) simulate(ctx context.Context, args []string) error {
	fs := a.newFlagSet("simulate", "simulate [--listen ADDR] [--token TOKEN] [--latency D]",
		"groupsync simulate --listen 127.0.0.1:8930")
	var (
		listen  string
		token   string
		latency time.Duration
	)
	fs.StringVar(&listen, "listen", "127.0.0.1:8930", "`address` to serve both vendors' APIs on")
	fs.StringVar(&token, "token", "", "access token the simulators accept (default: a random one, printed)")
	fs.DurationVar(&latency, "latency", 0, "latency added to every call")
	if _, err := a.parseArgs(fs, args); err != nil {
		return err
	}
	// A generated token is printed (nobody else knows it); one given with
	// --token is never repeated: it may be a real token, and stdout may be
	// a CI log.
	shown := "(the one given with --token)"
	if token == "" {
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		token = hex.EncodeToString(b)
		shown = token
	}
	yzj := yunzhijia.NewSimulator(token)
	lk := lunkr.NewSimulator(token)
	yzj.SetFaults(yunzhijia.Faults{Latency: latency})
	lk.SetFaults(lunkr.Faults{Latency: latency})
	// auth: blocks work too, with the token as the app's secret; Lunkr's
	// token endpoint is at the origin, as the vendor's is.
	yzj.SetAuth(simulateEID, token, 7200*time.Second)
	lk.SetAuth(simulateClientID, token, 3600*time.Second)
	mux := http.NewServeMux()
	mux.Handle("/yunzhijia/gateway/", http.StripPrefix("/yunzhijia/gateway", yzj))
	mux.Handle("/lunkr/api/", http.StripPrefix("/lunkr/api", lk))
	mux.Handle("/"+lunkr.CallToken, lk)
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("simulate: %w", err)
	}
	base := "http://" + ln.Addr().String()
	fmt.Fprintf(a.stdout, "yunzhijia endpoint: %s/yunzhijia/gateway/\nlunkr endpoint:     %s/lunkr/api/\naccess token:       %s\n", base, base, shown)
	fmt.Fprintf(a.stdout, "auth: blocks:       yunzhijia eid %s, lunkr clientId %s, the access token as their secret\n", simulateEID, simulateClientID)
	fmt.Fprintln(a.stdout, "Point a provider's endpoint at one of these and export its token (or secret) variable; Ctrl-C stops.")
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
		shut, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		return srv.Shutdown(shut)
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	}
}
