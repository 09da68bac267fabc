package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"groupsync/internal/state"
)

// Run outcomes: the values of groupsync_runs_total's outcome label, the
// run history's own (state.Outcome).
const (
	OutcomeOK          = state.RunOK
	OutcomeFailed      = state.RunFailed
	OutcomeInterrupted = state.RunInterrupted
	OutcomeSkipped     = state.RunSkipped // a tick that came while a run was still going
)

// Kinds of change: the values of groupsync_changes_applied_total's kind label.
const (
	KindCreate = "create" // groups created
	KindAdd    = "add"    // members added
	KindRemove = "remove" // members removed (prune)
	KindNotice = "notice" // notices posted
	KindBanner = "banner" // banners posted
)

// Run is what one scheduled run did.
type Run struct {
	Outcome state.Outcome // one of the Outcome* constants
	Ended   time.Time     // when it ended
	Created int
	Added   int // members, not calls
	Removed int // members, not calls
	Notices int
	Banners int
	// Planned says that the run made a plan, so that Drift is meaningful;
	// the drift gauge keeps its last value otherwise.
	Planned bool
	Drift   int
}

// Set is the collectors of one scheduled-mode process, in a registry of
// their own. Its methods are safe for concurrent use.
type Set struct {
	reg         *prometheus.Registry
	runs        *prometheus.CounterVec
	lastSuccess prometheus.Gauge
	changes     *prometheus.CounterVec
	drift       prometheus.Gauge
	calls       *prometheus.CounterVec
	latency     *prometheus.HistogramVec
}

// New returns a Set with every series of runs and changes present at zero,
// plus the Go runtime and process collectors.
func New() *Set {
	s := &Set{
		reg: prometheus.NewRegistry(),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "groupsync_runs_total",
			Help: "Scheduled runs by outcome (ok, failed, interrupted, skipped).",
		}, []string{"outcome"}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "groupsync_last_success_timestamp_seconds",
			Help: "Unix time at which the last successful run ended; 0 before the first.",
		}),
		changes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "groupsync_changes_applied_total",
			Help: "Changes applied by kind: groups created, members added, notices and banners posted.",
		}, []string{"kind"}),
		drift: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "groupsync_drift_items",
			Help: "Drift items the last plan reported that must be fixed by hand.",
		}),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "groupsync_vendor_calls_total",
			Help: "Vendor call attempts by vendor, call and outcome (ok, error, retry, unknown).",
		}, []string{"vendor", "call", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "groupsync_vendor_call_duration_seconds",
			Help:    "Duration of vendor call attempts by vendor and call.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"vendor", "call"}),
	}
	s.reg.MustRegister(s.runs, s.lastSuccess, s.changes, s.drift, s.calls, s.latency,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, o := range []state.Outcome{OutcomeOK, OutcomeFailed, OutcomeInterrupted, OutcomeSkipped} {
		s.runs.WithLabelValues(string(o))
	}
	for _, k := range []string{KindCreate, KindAdd, KindRemove, KindNotice, KindBanner} {
		s.changes.WithLabelValues(k)
	}
	return s
}

// Handler serves the registry in the Prometheus exposition formats.
func (s *Set) Handler() http.Handler {
	return promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{Registry: s.reg})
}

// ObserveCall counts one vendor call attempt and its duration. Its
// signature fits the vendor transports' Observe hook.
func (s *Set) ObserveCall(vendor, call, outcome string, d time.Duration) {
	s.calls.WithLabelValues(vendor, call, outcome).Inc()
	s.latency.WithLabelValues(vendor, call).Observe(d.Seconds())
}

// RecordRun counts a run, what it changed, and the drift its plan showed.
func (s *Set) RecordRun(r Run) {
	s.runs.WithLabelValues(string(r.Outcome)).Inc()
	if r.Outcome == OutcomeOK {
		s.lastSuccess.Set(float64(r.Ended.UnixNano()) / 1e9)
	}
	s.changes.WithLabelValues(KindCreate).Add(float64(r.Created))
	s.changes.WithLabelValues(KindAdd).Add(float64(r.Added))
	s.changes.WithLabelValues(KindRemove).Add(float64(r.Removed))
	s.changes.WithLabelValues(KindNotice).Add(float64(r.Notices))
	s.changes.WithLabelValues(KindBanner).Add(float64(r.Banners))
	if r.Planned {
		s.drift.Set(float64(r.Drift))
	}
}
