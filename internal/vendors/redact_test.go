package vendors

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"unicode/utf16"
)

// TokenEncodings returns secret in every encoding a vendor or a proxy has
// been seen to echo it in, by name.
func tokenEncodings(secret string) map[string]string {
	js, _ := json.Marshal(secret)
	var allU, allUpper strings.Builder
	for _, u := range utf16.Encode([]rune(secret)) {
		fmt.Fprintf(&allU, `\u%04x`, u)
		fmt.Fprintf(&allUpper, `\u%04X`, u)
	}
	return map[string]string{
		"raw":               secret,
		"query":             url.QueryEscape(secret),
		"query-lower-hex":   lowerHex(url.QueryEscape(secret)),
		"path":              url.PathEscape(secret),
		"path-lower-hex":    lowerHex(url.PathEscape(secret)),
		"query-twice":       url.QueryEscape(url.QueryEscape(secret)),
		"json-marshal":      string(js[1 : len(js)-1]),
		"json-slash":        strings.ReplaceAll(secret, "/", `\/`),
		"json-u-lower":      strings.NewReplacer("+", `\u002b`, "/", `\u002f`, "=", `\u003d`).Replace(secret),
		"json-u-upper":      strings.NewReplacer("+", `\u002B`, "/", `\u002F`, "=", `\u003D`).Replace(secret),
		"json-every-char":   allU.String(),
		"json-every-char-U": allUpper.String(),
		"mixed":             strings.NewReplacer("/", "%2f", "+", `\u002B`, "=", "%3D").Replace(secret),
	}
}

// lowerHex lower-cases the hex digits of every %XX in s.
func lowerHex(s string) string {
	b := []byte(s)
	for i := 0; i+2 < len(b); i++ {
		if b[i] == '%' {
			b[i+1], b[i+2] = lower(b[i+1]), lower(b[i+2])
		}
	}
	return string(b)
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'F' {
		return c + 'a' - 'A'
	}
	return c
}

func TestRedactEveryEncoding(t *testing.T) {
	for _, secret := range []string{"tok-SECRET-8f3a9c/+==", "s3cr3t/+= tøken&x=1", "emoji-😀-tok/x"} {
		for name, enc := range tokenEncodings(secret) {
			t.Run(name, func(t *testing.T) {
				var r Redactor
				r.Add(secret)
				in := "error: accessToken=" + enc + "&x=1 said " + enc
				got := r.Redact(in)
				if want := "error: accessToken=REDACTED&x=1 said REDACTED"; got != want {
					t.Errorf("Redact(%q)\n got %q\nwant %q", in, got, want)
				}
			})
		}
	}
}

func TestRedactLeavesOtherTextAlone(t *testing.T) {
	var r Redactor
	r.Add("abc/def")
	for _, s := range []string{"", "abc", "abc%2", "abc%2Fde", `abc\u002`, `abc\/deg`, "%%%\\\\\\", "ab c/def", "abcdef"} {
		if got := r.Redact(s); got != s {
			t.Errorf("Redact(%q) = %q, want it unchanged", s, got)
		}
	}
}

// The TokenSource redacts every token it handed out, in every encoding.
func TestTokenSourceRedactsEveryEncoding(t *testing.T) {
	secret := "tok-SECRET/+=="
	src := StaticToken("p", secret)
	for name, enc := range tokenEncodings(secret) {
		if got := src.Redact("x " + enc + " y"); got != "x REDACTED y" {
			t.Errorf("%s: Redact = %q", name, got)
		}
	}
}

func BenchmarkRedactBody(b *testing.B) {
	var r Redactor
	r.Add("tok-SECRET-8f3a9c/+==")
	body := strings.Repeat(`{"userId":"10503","email":"a%40b.com","userName":"\u5f20\u4e09"},`, 2000)
	b.SetBytes(int64(len(body)))
	for i := 0; i < b.N; i++ {
		r.Redact(body)
	}
}
