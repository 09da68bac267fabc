package yunzhijia

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"groupsync/internal/vendors"
	"groupsync/internal/vendors/vendorstest"
)

// tok is the access token of the tests: distinctive, and with characters
// that a URL escapes, so that redaction is tested in both forms.
const tok = "TOK-s3cr3t+/=Zq9x"

// Yunzhijia user ids from the vendor's page.
const (
	alice = "5b503ee9e4b02abb5318b23e"
	bob   = "5b6cea82e4b05df05b3efc2b"
	carol = "5bee6706e4b073e587c144ae"
	dave  = "5b50428ce4b091389c3b3777"
	erin  = "5b90c663e4b0216ee04a768c"
)

// env is a client talking to a simulator over real HTTP, with the
// transport's waits recorded instead of slept.
type env struct {
	sim *Simulator
	srv *httptest.Server
	tr  *vendors.Transport
	c   *Client

	vendorstest.Sleeper
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{sim: NewSimulator(tok)}
	e.srv = httptest.NewServer(e.sim)
	t.Cleanup(e.srv.Close)
	e.tr = newTransport(e.srv.URL+"/", vendors.StaticToken("kingdee", tok), e.Sleep)
	e.c = New(e.tr)
	return e
}

func newTransport(base string, ts *vendors.TokenSource, sleep func(context.Context, time.Duration) error) *vendors.Transport {
	return &vendors.Transport{
		BaseURL:     base,
		HTTP:        vendors.NewHTTPClient(5 * time.Second),
		Token:       ts,
		MaxAttempts: 4,
		Sleep:       sleep,
	}
}

func (e *env) recordedWaits() []time.Duration { return e.Waits() }

// seed creates a group owned by owner with the other members.
func (e *env) seed(id, owner string, members ...string) {
	g := vendors.Group{ID: id, Name: "g-" + id[len(id)-4:], Managers: []string{owner}}
	for _, m := range append([]string{owner}, members...) {
		g.Members = append(g.Members, vendors.LiveMember{ID: m})
	}
	e.sim.SeedGroup(g)
}

func memberIDs(g vendors.Group) []string {
	ids := make([]string, 0, len(g.Members))
	for _, m := range g.Members {
		ids = append(ids, m.ID)
	}
	return ids
}

// rawServer answers every request with a fixed status and body.
type rawServer struct {
	*httptest.Server
	mu sync.Mutex
	n  int
}

func newRawServer(t *testing.T, status int, body string) *rawServer {
	s := &rawServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.n++
		s.mu.Unlock()
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *rawServer) hits() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}
