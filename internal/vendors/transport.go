package vendors

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"golang.org/x/time/rate"
)

// Transport is the HTTP path every vendor call takes: per-provider rate
// limit, the access token in the query, retries with exponential backoff and
// jitter, and redaction of the token from every error it returns.
//
// Retry rules (SPEC section 4): a Safe call (a read, add-members) is retried
// on network errors, 5xx and 429. Any call is retried when it provably was
// not made: 429, 503, or a failure before the request was written. Any other
// failure of an unsafe call after sending is ErrUnknownOutcome.
type Transport struct {
	Vendor  string
	BaseURL string // ends in '/'
	HTTP    *http.Client
	Token   *TokenSource
	Limiter *rate.Limiter // one limit for every call; nil means none
	Logger  *slog.Logger  // nil means no logging

	// TokenParam is the query parameter the access token goes in;
	// "" means accessToken (WeCom's is access_token).
	TokenParam string

	// PathLimit, when positive and Limiter is nil, limits each Call.Path
	// (each vendor endpoint) on its own to this many calls per second: the
	// vendors publish their limits per API, not per client.
	PathLimit rate.Limit

	MaxAttempts int           // per call, first try included; default 5
	BackoffBase time.Duration // default 200ms
	BackoffMax  time.Duration // default 10s; also caps Retry-After

	// Observe, when set, is told of every attempt: the call, its outcome
	// ("ok", "error", "retry", "unknown") and how long it took.
	Observe func(call, outcome string, d time.Duration)

	// Sleep waits between attempts; tests replace it. Default: a timer.
	Sleep func(ctx context.Context, d time.Duration) error

	pathMu       sync.Mutex
	pathLimiters map[string]*rate.Limiter
}

// NewHTTPClient returns the client vendor transports share: bounded timeouts
// and enough idle connections for a parallel plan.
func NewHTTPClient(timeout time.Duration) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = 256
	tr.MaxIdleConnsPerHost = 128
	tr.ResponseHeaderTimeout = timeout
	// HTTP/1.1 only: its error paths wait for the write to finish, so "the
	// request was not written" is exact; over HTTP/2 a cancelled request can
	// return before its write is reported, and a sent create would be retried.
	tr.ForceAttemptHTTP2 = false
	tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	return &http.Client{Timeout: timeout, Transport: tr,
		// A redirected POST would be replayed as a GET; the vendors do not
		// redirect, so a 3xx is answered as it is.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// Init names the transport's vendor and fills what is unset: an empty
// BaseURL with defaultBase, a final '/' on BaseURL, and a nil HTTP with
// NewHTTPClient(30s). Each vendor's New calls it.
func (t *Transport) Init(vendor, defaultBase string) {
	t.Vendor = vendor
	if t.BaseURL == "" {
		t.BaseURL = defaultBase
	}
	if !strings.HasSuffix(t.BaseURL, "/") {
		t.BaseURL += "/"
	}
	if t.HTTP == nil {
		t.HTTP = NewHTTPClient(30 * time.Second)
	}
}

// Call is one vendor request.
type Call struct {
	Name   string // the vendor call, for errors, logs and metrics
	Method string
	Path   string     // relative to BaseURL
	Query  url.Values // without the token
	Body   any        // JSON-encoded when non-nil
	Safe   bool       // a read or an idempotent write
}

// ErrUnreadable is what a decoder returns (wrapped) when the answer is not
// what the vendor's format says; the transport then treats the call as
// failed after sending.
var ErrUnreadable = errors.New("unreadable answer")

// Do makes the call and hands a 2xx answer's body to decode, which fills the
// caller's result and returns a *Error for a vendor-level error, or an error
// wrapping ErrUnreadable. A *Error of kind ErrUnauthorized makes Do fetch a
// new token once (a tokenCommand's or auth:'s; a fixed token cannot) and try
// again once; one of kind ErrRateLimited is retried like a 429.
//
// ctx's deadline bounds the whole call: each attempt's request carries it
// (so an attempt never outlives it, whatever the client's own timeout), and
// no retry is made when the wait before it would end past the deadline.
func (t *Transport) Do(ctx context.Context, c Call, decode func(body []byte) error) error {
	var body []byte
	if c.Body != nil {
		b, err := json.Marshal(c.Body)
		if err != nil {
			return t.fail(c, ErrBadRequest, "", "encode request", err)
		}
		body = b
	}
	maxAttempts := t.MaxAttempts
	if maxAttempts <= 0 {
		maxAttempts = 5
	}
	refreshed := false
	for attempt := 1; ; attempt++ {
		res := t.attempt(ctx, c, body, decode)
		if res.err == nil {
			return nil
		}
		if res.unauthorized && !refreshed {
			refreshed = true
			_, ok, err := t.Token.Refresh(ctx, res.token)
			if err != nil {
				return t.fail(c, ErrUnauthorized, "", "refresh token", err)
			}
			if ok {
				attempt-- // a refreshed token is a fresh start, not a retry
				continue
			}
		}
		if !res.retry || attempt >= maxAttempts || ctx.Err() != nil {
			return res.err
		}
		wait := t.backoff(attempt)
		if res.hasRetryAfter {
			// Retry-After: 0 means "now", not "use the default backoff".
			wait = min(res.retryAfter, t.backoffMax())
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= wait {
			// The retry could not start before the deadline: fail now with the
			// vendor's error rather than later with the deadline's.
			t.log(ctx, "not retrying vendor call: the deadline comes first", "vendor", t.Vendor, "call", c.Name, "attempt", attempt, "wait", wait, "error", res.err.Error())
			return res.err
		}
		t.log(ctx, "retrying vendor call", "vendor", t.Vendor, "call", c.Name, "attempt", attempt, "wait", wait, "error", res.err.Error())
		if err := t.sleep(ctx, wait); err != nil {
			return res.err
		}
	}
}

type attemptResult struct {
	err           error
	retry         bool
	retryAfter    time.Duration
	hasRetryAfter bool // the answer carried a usable Retry-After header
	unauthorized  bool
	token         string
}

func (t *Transport) attempt(ctx context.Context, c Call, body []byte, decode func([]byte) error) (res attemptResult) {
	start := time.Now()
	outcome := "ok"
	defer func() {
		if t.Observe != nil {
			switch {
			case res.err == nil:
			case res.retry:
				outcome = "retry"
			case errors.Is(res.err, ErrUnknownOutcome):
				outcome = "unknown"
			default:
				outcome = "error"
			}
			t.Observe(c.Name, outcome, time.Since(start))
		}
	}()
	if l := t.limiter(c.Path); l != nil {
		// Wait refuses at once a wait that would end past ctx's deadline.
		if err := l.Wait(ctx); err != nil {
			return attemptResult{err: t.fail(c, ErrTransient, "", "rate limiter", err)}
		}
	}
	tok, err := t.Token.Token(ctx)
	if err != nil {
		return attemptResult{err: t.fail(c, ErrUnauthorized, "", "", err)}
	}
	res.token = tok
	req, err := t.newRequest(ctx, c, body, tok)
	if err != nil {
		return attemptResult{err: t.fail(c, ErrBadRequest, "", "build request", err)}
	}
	// The hook runs on the transport's write goroutine, so the flag is
	// atomic. It is set even when the write failed part way: a request that
	// may have reached the vendor counts as sent (never a blind retry).
	var wrote atomic.Bool
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		WroteRequest: func(httptrace.WroteRequestInfo) { wrote.Store(true) },
	}))
	resp, err := t.HTTP.Do(req)
	if err != nil {
		return t.sendFailure(c, tok, wrote.Load(), err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return t.sendFailure(c, tok, true, err)
	}
	return t.classify(c, tok, resp, data, decode)
}

// limiter returns the limiter a call to path waits on: Limiter, or path's
// own under PathLimit, or nil.
func (t *Transport) limiter(path string) *rate.Limiter {
	if t.Limiter != nil || t.PathLimit <= 0 {
		return t.Limiter
	}
	t.pathMu.Lock()
	defer t.pathMu.Unlock()
	l := t.pathLimiters[path]
	if l == nil {
		if t.pathLimiters == nil {
			t.pathLimiters = make(map[string]*rate.Limiter)
		}
		// A burst of 1: calls spaced evenly never exceed a per-minute quota
		// that equals the rate.
		l = rate.NewLimiter(t.PathLimit, 1)
		t.pathLimiters[path] = l
	}
	return l
}

func (t *Transport) newRequest(ctx context.Context, c Call, body []byte, tok string) (*http.Request, error) {
	q := url.Values{}
	for k, v := range c.Query {
		q[k] = v
	}
	param := t.TokenParam
	if param == "" {
		param = "accessToken"
	}
	q.Set(param, tok)
	u := t.BaseURL + c.Path + "?" + q.Encode()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, c.Method, u, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	} else {
		req.Header.Set("Content-Type", "application/json;charset=utf-8")
	}
	req.Header.Set("Accept", "application/json")
	return req, nil
}

// sendFailure classifies a failure to get an answer.
func (t *Transport) sendFailure(c Call, tok string, wrote bool, err error) attemptResult {
	msg := t.Token.Redact(err.Error())
	cause := redactedError{msg}
	switch {
	case !wrote:
		// The request never left: it was not made, so any call may retry.
		return attemptResult{token: tok, retry: true, err: t.fail(c, ErrTransient, "", "request not sent", cause)}
	case c.Safe:
		return attemptResult{token: tok, retry: true, err: t.fail(c, ErrTransient, "", "", cause)}
	default:
		return attemptResult{token: tok, err: t.fail(c, ErrUnknownOutcome, "", "sent but no answer", cause)}
	}
}

func (t *Transport) classify(c Call, tok string, resp *http.Response, data []byte, decode func([]byte) error) attemptResult {
	status := strconv.Itoa(resp.StatusCode)
	// Redact before cutting, so that no prefix of an echoed token survives
	// the cut. Only a refused answer shows it: a read of every group of a
	// plan does not copy and scan its body for nothing.
	snippet := func() string { return truncate(t.Token.Redact(string(data)), 200) }
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		ra, ok := retryAfter(resp.Header.Get("Retry-After"))
		return attemptResult{token: tok, retry: true, retryAfter: ra, hasRetryAfter: ok, err: t.fail(c, ErrRateLimited, status, snippet(), nil)}
	case resp.StatusCode == http.StatusServiceUnavailable:
		ra, ok := retryAfter(resp.Header.Get("Retry-After"))
		return attemptResult{token: tok, retry: true, retryAfter: ra, hasRetryAfter: ok, err: t.fail(c, ErrTransient, status, snippet(), nil)}
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return attemptResult{token: tok, unauthorized: true, err: t.fail(c, ErrUnauthorized, status, snippet(), nil)}
	case resp.StatusCode >= 500:
		if c.Safe {
			return attemptResult{token: tok, retry: true, err: t.fail(c, ErrTransient, status, snippet(), nil)}
		}
		return attemptResult{token: tok, err: t.fail(c, ErrUnknownOutcome, status, snippet(), nil)}
	case resp.StatusCode >= 400:
		return attemptResult{token: tok, err: t.fail(c, ErrBadRequest, status, snippet(), nil)}
	case resp.StatusCode >= 300:
		if c.Safe {
			return attemptResult{token: tok, err: t.fail(c, ErrVendor, status, "unexpected redirect", nil)}
		}
		// The write reached a server that did not say what it did with it.
		return attemptResult{token: tok, err: t.fail(c, ErrUnknownOutcome, status, "unexpected redirect", nil)}
	}
	err := decode(data)
	if err == nil {
		return attemptResult{token: tok}
	}
	var ve *Error
	if errors.As(err, &ve) {
		if ve.Vendor == "" {
			ve.Vendor = t.Vendor
		}
		if ve.Call == "" {
			ve.Call = c.Name
		}
		ve.Message = t.Token.Redact(ve.Message)
		if ve.Err != nil {
			ve.Err = redactedError{t.Token.Redact(ve.Err.Error())}
		}
		// A vendor code for rate limiting (Lunkr 10008, WeCom 45009) or for
		// a busy system (WeCom -1) says the call was refused, not made: any
		// call may retry it, as after a 429 or a 503.
		return attemptResult{token: tok, err: ve, unauthorized: errors.Is(ve, ErrUnauthorized), retry: errors.Is(ve, ErrRateLimited) || errors.Is(ve, ErrTransient)}
	}
	cause := redactedError{t.Token.Redact(err.Error())}
	// A decoder's error already says "unreadable answer: …": said once.
	msg := "unreadable answer"
	if errors.Is(err, ErrUnreadable) {
		msg = ""
	}
	if c.Safe {
		return attemptResult{token: tok, retry: true, err: t.fail(c, ErrTransient, status, msg, cause)}
	}
	return attemptResult{token: tok, err: t.fail(c, ErrUnknownOutcome, status, msg, cause)}
}

func (t *Transport) fail(c Call, kind error, code, msg string, err error) *Error {
	if err != nil {
		err = redactedError{t.Token.Redact(err.Error())}
	}
	return &Error{Vendor: t.Vendor, Call: c.Name, Kind: kind, Code: code, Message: t.Token.Redact(msg), Err: err}
}

func (t *Transport) backoffMax() time.Duration {
	if t.BackoffMax > 0 {
		return t.BackoffMax
	}
	return 10 * time.Second
}

// backoff is exponential with jitter: a random wait in [d/2, d) where d
// doubles each attempt from BackoffBase up to BackoffMax.
func (t *Transport) backoff(attempt int) time.Duration {
	base := t.BackoffBase
	if base <= 0 {
		base = 200 * time.Millisecond
	}
	d := base << min(attempt-1, 20)
	if d > t.backoffMax() || d <= 0 {
		d = t.backoffMax()
	}
	half := d / 2
	return half + time.Duration(rand.Int64N(int64(half)+1))
}

func (t *Transport) sleep(ctx context.Context, d time.Duration) error {
	if t.Sleep != nil {
		return t.Sleep(ctx, d)
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

func (t *Transport) log(ctx context.Context, msg string, args ...any) {
	if t.Logger != nil {
		t.Logger.Log(ctx, slog.LevelWarn, msg, args...)
	}
}

// retryAfter parses a Retry-After header: seconds or an HTTP date. ok is
// false when the header is absent or unparsable (use the default backoff);
// "0" and a date in the past are ok with a zero wait.
func retryAfter(h string) (d time.Duration, ok bool) {
	if h == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(h); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	if at, err := http.ParseTime(h); err == nil {
		return max(time.Until(at), 0), true
	}
	return 0, false
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Cut on a rune boundary so the message stays valid UTF-8.
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
