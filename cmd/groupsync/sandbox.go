package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http/httptest"
	"os"

	"groupsync/internal/spec"
	"groupsync/internal/vendors"
)

const sandboxToken = "sandbox-token"

// sandbox runs every registered vendor's simulator on loopback for one
// command; their world is kept in a JSON file beside the state file (one
// entry per vendor), so that a plan after an apply sees what the apply did.
type sandbox struct {
	path string
	sims map[string]*sandboxSim // by vendor name
}

type sandboxSim struct {
	sim vendors.Simulator
	srv *httptest.Server
}

// sandboxPath is where the sandbox world of a state file is kept.
func sandboxPath(statePath string) string { return statePath + ".sandbox.json" }

func openSandbox(statePath string, m *spec.Manifest) (*sandbox, error) {
	sb := &sandbox{path: sandboxPath(statePath), sims: map[string]*sandboxSim{}}
	for _, d := range vendors.All() {
		sb.sims[d.Name] = &sandboxSim{sim: d.Sim.New(sandboxToken)}
	}
	data, err := os.ReadFile(sb.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("sandbox: %w", err)
	default:
		var w map[string]json.RawMessage
		if err := json.Unmarshal(data, &w); err != nil {
			return nil, fmt.Errorf("sandbox: %s: %w (delete it to start a new sandbox world)", sb.path, err)
		}
		for name, s := range sb.sims {
			if len(w[name]) == 0 {
				continue
			}
			if err := s.sim.Restore(w[name]); err != nil {
				return nil, fmt.Errorf("sandbox: %s: %w", sb.path, err)
			}
		}
	}
	sb.seedPinned(m)
	sb.registerApps(m)
	for _, s := range sb.sims {
		s.srv = httptest.NewServer(s.sim)
	}
	return sb, nil
}

// seedPinned makes every group the manifest pins exist in the sandbox, as an
// existing group would in a real workspace (each vendor's simulator says
// how: with a member the manifest does not know, so that a newcomer sees
// adoption and drift).
func (sb *sandbox) seedPinned(m *spec.Manifest) {
	for _, g := range m.Groups {
		s := sb.sims[string(g.Vendor)]
		if g.GroupID == "" || s == nil {
			continue
		}
		pg := vendors.PinnedGroup{ID: g.GroupID, Name: g.Name, Type: g.Type}
		if g.Owner != nil {
			pg.Owner = g.Owner.ID
		}
		for _, mb := range g.Members {
			pg.Members = append(pg.Members, mb.ID)
		}
		s.sim.SeedPinned(pg)
	}
}

// credentials are the app credentials a provider's auth: block stands for
// in the sandbox: its ids as written, and for every ${VAR} a value the
// sandbox makes up, so that no real secret is needed (or read).
func (sb *sandbox) credentials(p *spec.Provider) vendors.Credentials {
	creds := vendors.Credentials{}
	for k, v := range p.Auth.Values {
		creds[k] = v
	}
	for k := range p.Auth.Env {
		creds[k] = "sandbox-" + p.Name + "-" + k
	}
	return creds
}

// registerApps makes the simulators' token endpoints know the credentials
// of every provider with an auth: block, as a vendor knows the app; their
// tokens live as long as the vendor's own.
func (sb *sandbox) registerApps(m *spec.Manifest) {
	for _, p := range m.Providers {
		d, ok := vendors.Lookup(string(p.Vendor))
		if p.Auth == nil || !ok {
			continue
		}
		sb.sims[d.Name].sim.RegisterApp(sb.credentials(p), d.Sim.TokenLifetime)
	}
}

func (sb *sandbox) baseURL(v spec.Vendor) string {
	return sb.sims[string(v)].srv.URL + "/"
}

// close stops the simulators and saves their world.
func (sb *sandbox) close() error {
	w := map[string]json.RawMessage{}
	for name, s := range sb.sims {
		s.srv.Close()
		data, err := s.sim.Snapshot()
		if err != nil {
			return fmt.Errorf("sandbox: %w", err)
		}
		w[name] = data
	}
	data, err := json.MarshalIndent(w, "", "  ")
	if err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	if err := writeAtomic(sb.path, func(w io.Writer) error { _, err := w.Write(data); return err }); err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	return nil
}
