package scale

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"groupsync/internal/spec"
	"groupsync/internal/vendors"
)

// simEnv names the environment variable that makes a test binary of this
// package serve the simulators of the scenario it holds (JSON) instead of
// running tests: see SimMain.
const simEnv = "GROUPSYNC_SCALE_SIM"

// SimMain serves the vendor simulators of a scenario when the process was
// started as a simulator process (simEnv set), and reports whether it was,
// with the error that ended the serving. A test binary's TestMain calls it
// first and, when it was one, exits instead of running tests. The process
// prints one line on stdout, "sim YZJ_URL LUNKR_URL WECOM_URL CONTROL_URL", and
// serves until its stdin closes.
//
// The simulators run in their own process so that the benchmark's peak RSS
// is groupsync's, not the stand-in vendors'.
func SimMain() (bool, error) {
	raw, ok := os.LookupEnv(simEnv)
	if !ok {
		return false, nil
	}
	return true, serveSims(raw, os.Stdin, os.Stdout)
}

func serveSims(raw string, stdin io.Reader, stdout io.Writer) error {
	var sc Scenario
	if err := json.Unmarshal([]byte(raw), &sc); err != nil {
		return fmt.Errorf("%s: %w", simEnv, err)
	}
	yzj, err := newSim(yzjVendor)
	if err != nil {
		return err
	}
	lk, err := newSim(lunkrVendor)
	if err != nil {
		return err
	}
	wc, err := newSim(wecomVendor)
	if err != nil {
		return err
	}
	seedVendors(sc, yzj, lk, wc)
	yzjSrv, lunkrSrv, wecomSrv := httptest.NewServer(yzj), httptest.NewServer(lk), httptest.NewServer(wc)
	defer yzjSrv.Close()
	defer lunkrSrv.Close()
	defer wecomSrv.Close()
	ctl := httptest.NewServer(simControl(yzj, lk, wc))
	defer ctl.Close()
	if _, err := fmt.Fprintf(stdout, "sim %s/ %s/ %s/ %s\n", yzjSrv.URL, lunkrSrv.URL, wecomSrv.URL, ctl.URL); err != nil {
		return fmt.Errorf("announce the simulators' addresses: %w", err)
	}
	_, _ = io.Copy(io.Discard, stdin) // until the parent closes it or dies
	return nil
}

// newSim returns the registered simulator of v.
func newSim(v spec.Vendor) (vendors.Simulator, error) {
	d, ok := vendors.Lookup(string(v))
	if !ok {
		return nil, fmt.Errorf("vendor %s is not registered (import groupsync/internal/vendors/registry)", v)
	}
	return d.Sim.New(token), nil
}

// seedVendors puts the scenario's existing groups in the simulators.
func seedVendors(sc Scenario, yzj, lk, wc vendors.Simulator) {
	m := sc.Manifest("", "", "")
	for i, g := range m.Groups {
		if sc.missing(i) {
			continue
		}
		live := sc.liveGroup(i, g)
		switch g.Vendor {
		case lunkrVendor:
			lk.SeedGroup(live)
		case wecomVendor:
			wc.SeedGroup(live)
		default:
			yzj.SeedGroup(live)
		}
	}
	// The manifest was only a guide to the seeding: its memory is not the
	// simulators' and must not count in sim_rss.
	resetPeakRSS()
}

// liveGroup is existing group i as the vendor holds it and as the state's
// cached read has it: the manifest's members but the lacking ones, plus the
// extras of a pruned group (the directory's next people after its window),
// and on Yunzhijia the operator as owner, manager and member.
func (s Scenario) liveGroup(i int, g *spec.Group) vendors.Group {
	live := vendors.Group{ID: s.groupID(i), Name: g.Name, Type: g.Type}
	members := g.Members[s.lacking(i):]
	live.Members = make([]vendors.LiveMember, 0, len(members)+s.extras(i)+1)
	for _, m := range members {
		live.Members = append(live.Members, vendors.LiveMember{ID: m.ID})
	}
	extraID := yzjUID
	if g.Vendor == wecomVendor {
		extraID = wecomID
	}
	for k := range s.extras(i) {
		live.Members = append(live.Members, vendors.LiveMember{ID: extraID(s.member(i, s.Members+k))})
	}
	if g.Owner != nil {
		// The owner (the operator) made the group: it is a manager and a
		// member.
		live.Managers = []string{g.Owner.ID}
		live.Members = append(live.Members, vendors.LiveMember{ID: g.Owner.ID})
		if g.Vendor == wecomVendor {
			live.Owner = g.Owner.ID // WeCom's read names the owner
		}
	}
	return live
}

// groupID is the vendor id of existing group i.
func (s Scenario) groupID(i int) string {
	if s.onLunkr(i) {
		return fmt.Sprintf("%d", 70_000_000+i)
	}
	if s.onWeCom(i) {
		return fmt.Sprintf("wc%030d", i) // a chatid: 32 of [0-9a-zA-Z]
	}
	return fmt.Sprintf("5f%022x", i)
}

// simStatus is what the control endpoint reports.
type simStatus struct {
	Calls   Calls
	PeakRSS int64         // bytes, the simulator process's high-water mark since the last start
	CPU     time.Duration // the simulator process's user and system time since the last start
}

// simControl serves POST /start?latency=D (set the latency, zero the call
// counts and the peak RSS) and GET /status (simStatus).
func simControl(yzj, lk, wc vendors.Simulator) http.Handler {
	mux := http.NewServeMux()
	var mu sync.Mutex
	var started time.Duration // processCPU at the last start
	mux.HandleFunc("POST /start", func(w http.ResponseWriter, r *http.Request) {
		latency, err := time.ParseDuration(r.URL.Query().Get("latency"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		for _, s := range []vendors.Simulator{yzj, lk, wc} {
			s.SetLatency(latency)
			s.ResetCalls()
		}
		resetPeakRSS()
		mu.Lock()
		started = processCPU()
		mu.Unlock()
	})
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		cpu := processCPU() - started
		mu.Unlock()
		_ = json.NewEncoder(w).Encode(simStatus{Calls: countCalls(yzj.Calls(), lk.Calls(), wc.Calls()), PeakRSS: peakRSS(), CPU: cpu})
	})
	return mux
}

// processCPU is this process's user and system time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// countCalls sorts the simulators' call counts by kind, as each vendor's
// descriptor names its calls.
func countCalls(yzj, lk, wc map[string]int) Calls {
	var c Calls
	for v, calls := range map[spec.Vendor]map[string]int{yzjVendor: yzj, lunkrVendor: lk, wecomVendor: wc} {
		d, _ := vendors.Lookup(string(v))
		for name, n := range calls {
			kind := vendors.CallOther
			if d != nil {
				kind = d.Calls[name]
			}
			switch kind {
			case vendors.CallRead:
				c.Reads += n
			case vendors.CallCreate:
				c.Creates += n
			case vendors.CallAdd:
				c.Adds += n
			case vendors.CallRemove:
				c.Removes += n
			case vendors.CallPost:
				c.Posts += n
			default:
				c.Other += n
			}
		}
	}
	return c
}

// simProcess is the parent's handle on a simulator process.
type simProcess struct {
	cmd              *exec.Cmd
	stdin            io.WriteCloser
	yzjURL, lunkrURL string
	wecomURL         string
	ctlURL           string
	http             *http.Client
}

// startSims starts the simulators of sc in a child process: this test
// binary again, with simEnv set.
func startSims(sc Scenario) (*simProcess, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find this test binary to start the simulator process: %w", err)
	}
	raw, err := json.Marshal(sc)
	if err != nil {
		return nil, fmt.Errorf("encode the scenario for the simulator process: %w", err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), simEnv+"="+string(raw), "GOMAXPROCS="+fmt.Sprint(runtime.GOMAXPROCS(0)))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("simulator process stdin: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("simulator process stdout: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the simulator process: %w", err)
	}
	p := &simProcess{cmd: cmd, stdin: stdin, http: &http.Client{Timeout: time.Minute}}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	f := strings.Fields(line)
	if err != nil {
		p.close()
		return nil, fmt.Errorf("simulator process: read its first line: %w", err)
	}
	if len(f) != 5 || f[0] != "sim" {
		p.close()
		return nil, fmt.Errorf("simulator process: unexpected first line %q", line)
	}
	p.yzjURL, p.lunkrURL, p.wecomURL, p.ctlURL = f[1], f[2], f[3], f[4]
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	return p, nil
}

// start sets the simulators' latency and zeroes their call counts and
// peak RSS.
func (p *simProcess) start(latency time.Duration) error {
	resp, err := p.http.Post(p.ctlURL+"/start?latency="+latency.String(), "text/plain", nil)
	if err != nil {
		return fmt.Errorf("simulator start: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("simulator start: %s", resp.Status)
	}
	return nil
}

func (p *simProcess) status() (simStatus, error) {
	var st simStatus
	resp, err := p.http.Get(p.ctlURL + "/status")
	if err != nil {
		return st, fmt.Errorf("simulator status: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("simulator status: %s", resp.Status)
	}
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

// close ends the simulator process: its stdin closes, and it is killed if
// it has not exited a few seconds later.
func (p *simProcess) close() error {
	_ = p.stdin.Close()
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
		return errors.New("simulator process did not exit; killed")
	}
}
