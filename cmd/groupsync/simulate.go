package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"groupsync/internal/vendors"
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
	// Each vendor is served under /NAME/ followed by its endpoint's path
	// (/yunzhijia/gateway/), and the paths it serves at the origin at the
	// origin (Lunkr's token endpoint). auth: blocks work too, with the
	// token as the app's secret.
	mux := http.NewServeMux()
	var endpoints, apps []string
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("simulate: %w", err)
	}
	base := "http://" + ln.Addr().String()
	for _, d := range vendors.All() {
		sim := d.Sim.New(token)
		sim.SetLatency(latency)
		prefix := "/" + d.Name + endpointPath(d.DefaultEndpoint)
		mux.Handle(prefix, http.StripPrefix(strings.TrimSuffix(prefix, "/"), sim))
		for _, path := range d.Sim.OriginPaths {
			mux.Handle(path, sim)
		}
		endpoints = append(endpoints, fmt.Sprintf("%-19s %s%s\n", d.Name+" endpoint:", base, prefix))
		if d.Auth != nil && len(d.Auth.Fields) > 0 {
			id, secret := authFieldNames(d.Auth)
			sim.RegisterApp(vendors.Credentials{id: d.Sim.AppID, secret: token}, d.Sim.TokenLifetime)
			apps = append(apps, fmt.Sprintf("%s %s %s", d.Name, id, d.Sim.AppID))
		}
	}
	fmt.Fprintf(a.stdout, "%saccess token:       %s\n", strings.Join(endpoints, ""), shown)
	fmt.Fprintf(a.stdout, "auth: blocks:       %s, the access token as their secret\n", strings.Join(apps, ", "))
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

// endpointPath is the path of an endpoint URL ("/gateway/"), "/" when it
// has none.
func endpointPath(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil || u.Path == "" {
		return "/"
	}
	return u.Path
}

// authFieldNames returns a vendor's first id field and first secret field.
func authFieldNames(a *vendors.Auth) (id, secret string) {
	for _, f := range a.Fields {
		switch {
		case f.Secret && secret == "":
			secret = f.Name
		case !f.Secret && id == "":
			id = f.Name
		}
	}
	return id, secret
}
