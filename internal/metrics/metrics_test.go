package metrics

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"groupsync/internal/state"
)

// scrape fetches /metrics over HTTP and parses it with the Prometheus text
// parser.
func scrape(t *testing.T, h http.Handler) map[string]*dto.MetricFamily {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	req.Header.Set("Accept", "text/plain")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// value returns the value of the series of name whose labels include want.
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	t.Helper()
	f, ok := fams[name]
	if !ok {
		t.Fatalf("no metric %s", name)
	}
	for _, m := range f.GetMetric() {
		if !hasLabels(m, want) {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	t.Fatalf("no series %s%v", name, want)
	return 0
}

func hasLabels(m *dto.Metric, want map[string]string) bool {
	n := 0
	for _, l := range m.GetLabel() {
		if v, ok := want[l.GetName()]; ok && v == l.GetValue() {
			n++
		}
	}
	return n == len(want)
}

func TestSeriesPresentAtStart(t *testing.T) {
	fams := scrape(t, New().Handler())
	for _, o := range []state.Outcome{OutcomeOK, OutcomeFailed, OutcomeInterrupted, OutcomeSkipped} {
		if v := value(t, fams, "groupsync_runs_total", map[string]string{"outcome": string(o)}); v != 0 {
			t.Errorf("runs_total{outcome=%q} = %v at start", o, v)
		}
	}
	for _, k := range []string{KindCreate, KindAdd, KindRemove, KindNotice, KindBanner} {
		value(t, fams, "groupsync_changes_applied_total", map[string]string{"kind": k})
	}
	value(t, fams, "groupsync_last_success_timestamp_seconds", nil)
	value(t, fams, "groupsync_drift_items", nil)
	if _, ok := fams["go_goroutines"]; !ok {
		t.Error("no Go runtime metrics")
	}
}

func TestRecordRunAndCalls(t *testing.T) {
	s := New()
	end := time.Unix(1_700_000_000, 0)
	s.RecordRun(Run{Outcome: OutcomeOK, Ended: end, Created: 2, Added: 5, Removed: 2, Notices: 3, Banners: 1, Planned: true, Drift: 4})
	s.RecordRun(Run{Outcome: OutcomeFailed, Ended: end.Add(time.Minute), Added: 1})
	s.RecordRun(Run{Outcome: OutcomeSkipped}) // not planned: drift keeps 4
	s.ObserveCall("yunzhijia", "createGroup", "ok", 20*time.Millisecond)
	s.ObserveCall("yunzhijia", "createGroup", "ok", 40*time.Millisecond)
	s.ObserveCall("lunkr", "groups/info", "retry", time.Second)

	fams := scrape(t, s.Handler())
	checks := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"groupsync_runs_total", map[string]string{"outcome": "ok"}, 1},
		{"groupsync_runs_total", map[string]string{"outcome": "failed"}, 1},
		{"groupsync_runs_total", map[string]string{"outcome": "skipped"}, 1},
		{"groupsync_last_success_timestamp_seconds", nil, 1_700_000_000},
		{"groupsync_changes_applied_total", map[string]string{"kind": "create"}, 2},
		{"groupsync_changes_applied_total", map[string]string{"kind": "add"}, 6},
		{"groupsync_changes_applied_total", map[string]string{"kind": "remove"}, 2},
		{"groupsync_changes_applied_total", map[string]string{"kind": "notice"}, 3},
		{"groupsync_changes_applied_total", map[string]string{"kind": "banner"}, 1},
		{"groupsync_drift_items", nil, 4},
		{"groupsync_vendor_calls_total", map[string]string{"vendor": "yunzhijia", "call": "createGroup", "outcome": "ok"}, 2},
		{"groupsync_vendor_calls_total", map[string]string{"vendor": "lunkr", "call": "groups/info", "outcome": "retry"}, 1},
		{"groupsync_vendor_call_duration_seconds", map[string]string{"vendor": "yunzhijia", "call": "createGroup"}, 2},
	}
	for _, c := range checks {
		if got := value(t, fams, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	h := fams["groupsync_vendor_call_duration_seconds"].GetMetric()[0].GetHistogram()
	if h.GetSampleSum() <= 0 {
		t.Errorf("histogram sum = %v", h.GetSampleSum())
	}
}

// Two Sets never share a registry: no duplicate registration panics.
func TestSetsAreIndependent(t *testing.T) {
	a, b := New(), New()
	a.RecordRun(Run{Outcome: OutcomeOK, Ended: time.Now()})
	if v := value(t, scrape(t, b.Handler()), "groupsync_runs_total", map[string]string{"outcome": "ok"}); v != 0 {
		t.Errorf("b counted a's run: %v", v)
	}
}

func TestHealth(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	now := t0
	h := NewHealth(time.Hour, func() time.Time { return now })
	get := func() (int, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
		return rec.Code, rec.Body.String()
	}
	if code, body := get(); code != 200 || body != "ok\n" {
		t.Fatalf("before any run: %d %q", code, body)
	}
	h.Record(OutcomeFailed, t0, "yunzhijia groupUsers: transient failure")
	now = t0.Add(30 * time.Minute)
	h.Record(OutcomeFailed, now, "still failing")
	h.Record(OutcomeInterrupted, now, "") // changes nothing
	if code, _ := get(); code != 200 {
		t.Fatalf("failing for 30m of a 1h window: %d", code)
	}
	now = t0.Add(61 * time.Minute)
	code, body := get()
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "since 2026-03-01T12:00:00Z") || !strings.Contains(body, "still failing") {
		t.Fatalf("failing for 61m: %d %q", code, body)
	}
	h.Record(OutcomeOK, now, "")
	if code, _ := get(); code != 200 {
		t.Fatalf("after a success: %d", code)
	}
	// A new streak starts from its own first failure.
	h.Record(OutcomeFailed, now, "again")
	now = now.Add(59 * time.Minute)
	if code, _ := get(); code != 200 {
		t.Fatalf("new streak of 59m: %d", code)
	}
}

// A run past its deadline is unhealthy while it goes on, even with no
// failure recorded; once it ends, only the failure streak counts.
func TestHealthRunPastDeadline(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	now := t0
	h := NewHealth(time.Hour, func() time.Time { return now })
	h.RunStarted(t0, t0.Add(30*time.Minute))
	now = t0.Add(30 * time.Minute)
	if ok, reason := h.Check(); !ok {
		t.Fatalf("at its deadline: unhealthy: %s", reason)
	}
	now = t0.Add(31 * time.Minute)
	ok, reason := h.Check()
	if ok || !strings.Contains(reason, "started at 2026-03-01T12:00:00Z is still going, 1m0s past its deadline 2026-03-01T12:30:00Z") {
		t.Fatalf("past its deadline: %v %q", ok, reason)
	}
	h.Record(OutcomeFailed, now, "the run passed its deadline")
	h.RunEnded()
	if ok, reason := h.Check(); !ok {
		t.Fatalf("after the run ended, one failure within the window: unhealthy: %s", reason)
	}
}
