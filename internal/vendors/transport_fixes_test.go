package vendors

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

func TestRetryAfterParse(t *testing.T) {
	tests := []struct {
		h    string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"0", 0, true},
		{"3", 3 * time.Second, true},
		{"-1", 0, false},
		{"soon", 0, false},
		{"Mon, 02 Jan 2006 15:04:05 GMT", 0, true}, // in the past: now
	}
	for _, tt := range tests {
		got, ok := retryAfter(tt.h)
		if got != tt.want || ok != tt.ok {
			t.Errorf("retryAfter(%q) = %v, %v; want %v, %v", tt.h, got, ok, tt.want, tt.ok)
		}
	}
}

// TestRetryAfterZeroHonoured: "Retry-After: 0" means retry now, not after
// the default backoff.
func TestRetryAfterZeroHonoured(t *testing.T) {
	var mu sync.Mutex
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		first := n == 1
		mu.Unlock()
		if first {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.Write([]byte("{}"))
	}))
	defer srv.Close()
	var waits []time.Duration
	tr := &Transport{
		Vendor: "test", BaseURL: srv.URL + "/", HTTP: srv.Client(), Token: StaticToken("p", "tok"),
		BackoffBase: time.Hour,
		Sleep:       func(ctx context.Context, d time.Duration) error { waits = append(waits, d); return nil },
	}
	err := tr.Do(context.Background(), Call{Name: "c", Method: http.MethodPost, Path: "x", Body: struct{}{}}, func([]byte) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if len(waits) != 1 || waits[0] != 0 {
		t.Fatalf("waits %v, want [0]", waits)
	}
}

// TestDecoderErrorFilled: a decoder may return a *Error without vendor and
// call; the transport names them.
func TestDecoderErrorFilled(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("{}")) }))
	defer srv.Close()
	tr := &Transport{Vendor: "test", BaseURL: srv.URL + "/", HTTP: srv.Client(), Token: StaticToken("p", "tok-123")}
	err := tr.Do(context.Background(), Call{Name: "c", Method: http.MethodGet, Path: "x"}, func([]byte) error {
		return &Error{Kind: ErrVendor, Message: "echo tok-123", Err: errors.New("cause tok-123")}
	})
	want := "test c: vendor error: echo REDACTED: cause REDACTED"
	if err == nil || err.Error() != want {
		t.Fatalf("error %v, want %q", err, want)
	}
}

func TestRedactBeforeTruncate(t *testing.T) {
	const tok = "s3cr3t-token-that-straddles-the-cut"
	echo := strings.Repeat("x", 190) + tok + `"\u0026` + strings.Repeat("é", 200)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, echo)
	}))
	defer srv.Close()
	tr := &Transport{Vendor: "test", BaseURL: srv.URL + "/", HTTP: srv.Client(), Token: StaticToken("p", tok)}
	err := tr.Do(context.Background(), Call{Name: "c", Method: http.MethodGet, Path: "x"}, func([]byte) error { return nil })
	if err == nil {
		t.Fatal("no error from a 400 answer")
	}
	if strings.Contains(err.Error(), tok[:6]) {
		t.Errorf("error keeps a prefix of the token: %v", err)
	}
	if !utf8.ValidString(err.Error()) {
		t.Errorf("error is not valid UTF-8: %q", err)
	}
}

func TestNilTokenSourceIsAnError(t *testing.T) {
	tr := &Transport{Vendor: "test", BaseURL: "http://127.0.0.1:1/", HTTP: http.DefaultClient}
	err := tr.Do(context.Background(), Call{Name: "c", Method: http.MethodGet, Path: "x"}, func([]byte) error { return nil })
	if !errors.Is(err, ErrUnauthorized) {
		t.Errorf("err = %v, want ErrUnauthorized", err)
	}
}

func TestRedirectIsNotFollowed(t *testing.T) {
	tests := []struct {
		name string
		safe bool
		kind error
	}{
		{"a write answered with a redirect has an unknown outcome", false, ErrUnknownOutcome},
		{"a read answered with a redirect is a vendor error", true, ErrVendor},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hits sync.Map
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				hits.Store(r.Method+" "+r.URL.Path, true)
				http.Redirect(w, r, "/elsewhere", http.StatusFound)
			}))
			defer srv.Close()
			tr := &Transport{Vendor: "test", BaseURL: srv.URL + "/", HTTP: NewHTTPClient(5 * time.Second), Token: StaticToken("p", "tok")}
			err := tr.Do(context.Background(), Call{Name: "c", Method: http.MethodPost, Path: "create", Body: map[string]string{}, Safe: tt.safe}, func([]byte) error { return nil })
			if !errors.Is(err, tt.kind) {
				t.Errorf("err = %v, want %v", err, tt.kind)
			}
			if _, ok := hits.Load("GET /elsewhere"); ok {
				t.Errorf("the redirect was followed: a POST replayed as a GET")
			}
		})
	}
}
