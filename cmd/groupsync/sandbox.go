package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http/httptest"
	"os"
	"strings"
	"time"

	"groupsync/internal/spec"
	"groupsync/internal/vendors"
	"groupsync/internal/vendors/lunkr"
	"groupsync/internal/vendors/yunzhijia"
)

const sandboxToken = "sandbox-token"

// sandbox runs both vendors' simulators on loopback for one command; their
// world is kept in a JSON file beside the state file, so that a plan after
// an apply sees what the apply did.
type sandbox struct {
	path string
	yzj  *yunzhijia.Simulator
	lk   *lunkr.Simulator
	yzjS *httptest.Server
	lkS  *httptest.Server
}

type sandboxWorld struct {
	Yunzhijia json.RawMessage `json:"yunzhijia,omitempty"`
	Lunkr     json.RawMessage `json:"lunkr,omitempty"`
}

// sandboxPath is where the sandbox world of a state file is kept.
func sandboxPath(statePath string) string { return statePath + ".sandbox.json" }

func openSandbox(statePath string, m *spec.Manifest) (*sandbox, error) {
	sb := &sandbox{
		path: sandboxPath(statePath),
		yzj:  yunzhijia.NewSimulator(sandboxToken),
		lk:   lunkr.NewSimulator(sandboxToken),
	}
	data, err := os.ReadFile(sb.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("sandbox: %w", err)
	default:
		var w sandboxWorld
		if err := json.Unmarshal(data, &w); err != nil {
			return nil, fmt.Errorf("sandbox: %s: %w (delete it to start a new sandbox world)", sb.path, err)
		}
		if len(w.Yunzhijia) > 0 {
			if err := sb.yzj.Restore(w.Yunzhijia); err != nil {
				return nil, fmt.Errorf("sandbox: %s: %w", sb.path, err)
			}
		}
		if len(w.Lunkr) > 0 {
			if err := sb.lk.Restore(w.Lunkr); err != nil {
				return nil, fmt.Errorf("sandbox: %s: %w", sb.path, err)
			}
		}
	}
	sb.seedPinned(m)
	sb.registerApps(m)
	sb.yzjS = httptest.NewServer(sb.yzj)
	sb.lkS = httptest.NewServer(sb.lk)
	return sb, nil
}

// seedPinned makes every group the manifest pins exist in the sandbox, as an
// existing group would in a real workspace: its owner and one member the
// manifest does not know, so that a newcomer sees adoption and drift.
func (sb *sandbox) seedPinned(m *spec.Manifest) {
	for _, g := range m.Groups {
		if g.GroupID == "" {
			continue
		}
		switch g.Vendor {
		case spec.Yunzhijia:
			if _, ok := sb.yzj.Group(g.GroupID); ok {
				continue
			}
			owner := "5b90c663e4b0216ee04a768c"
			if g.Owner != nil {
				owner = g.Owner.ID
			}
			sb.yzj.SeedGroup(vendors.Group{ID: g.GroupID, Name: g.Name, Managers: []string{owner},
				Members: []vendors.LiveMember{{ID: owner}, {ID: "5b90c663e4b0216ee04a768c"}}})
		case spec.Lunkr:
			if _, ok := sb.lk.Group(g.GroupID); ok {
				continue
			}
			var members []vendors.LiveMember
			if len(g.Members) > 0 {
				m := vendors.LiveMember{ID: g.Members[0].ID}
				if strings.Contains(m.ID, "@") {
					m = vendors.LiveMember{Email: m.ID}
				}
				members = append(members, m)
			}
			sb.lk.SeedGroup(vendors.Group{ID: g.GroupID, Name: g.Name, Type: g.Type, Members: members})
		}
	}
}

// Token lifetimes of the sandbox's token endpoints: the vendors' own.
const (
	sandboxYunzhijiaLifetime = 7200 * time.Second
	sandboxLunkrLifetime     = 3600 * time.Second
)

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
// of every provider with an auth: block, as a vendor knows the app.
func (sb *sandbox) registerApps(m *spec.Manifest) {
	for _, p := range m.Providers {
		if p.Auth == nil {
			continue
		}
		creds := sb.credentials(p)
		switch p.Vendor {
		case spec.Yunzhijia:
			sb.yzj.SetAuth(creds["eid"], creds["secret"], sandboxYunzhijiaLifetime)
		case spec.Lunkr:
			sb.lk.SetAuth(creds["clientId"], creds["clientSecret"], sandboxLunkrLifetime)
		}
	}
}

func (sb *sandbox) baseURL(v spec.Vendor) string {
	if v == spec.Lunkr {
		return sb.lkS.URL + "/"
	}
	return sb.yzjS.URL + "/"
}

// close stops the simulators and saves their world.
func (sb *sandbox) close() error {
	sb.yzjS.Close()
	sb.lkS.Close()
	var w sandboxWorld
	var err error
	if w.Yunzhijia, err = sb.yzj.Snapshot(); err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	if w.Lunkr, err = sb.lk.Snapshot(); err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	data, err := json.MarshalIndent(w, "", "  ")
	if err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	tmp := sb.path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	return os.Rename(tmp, sb.path)
}
