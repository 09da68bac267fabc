package spec

import "testing"

func TestNormalizeID(t *testing.T) {
	tests := []struct {
		vendor Vendor
		in     string
		want   string
		ok     bool
	}{
		{Yunzhijia, "5b503ee9e4b02abb5318b23e", "5b503ee9e4b02abb5318b23e", true},
		{Yunzhijia, "5B503EE9E4B02ABB5318B23E", "5b503ee9e4b02abb5318b23e", true},
		{Yunzhijia, "5b503ee9e4b02abb5318b23", "", false},   // 23 digits
		{Yunzhijia, "5b503ee9e4b02abb5318b23e0", "", false}, // 25 digits
		{Yunzhijia, "5b503ee9e4b02abb5318b23g", "", false},
		{Yunzhijia, "alice@example.com", "", false},
		{Lunkr, "alice@example.com", "alice@example.com", true},
		{Lunkr, "Alice.Smith+ops@mail.example.com.cn", "Alice.Smith+ops@mail.example.com.cn", true},
		{Lunkr, "10664", "10664", true},
		{Lunkr, "0", "", false},
		{Lunkr, "010664", "", false},
		{Lunkr, "alice@localhost", "", false},
		{Lunkr, "alice@-example.com", "", false},
		{Lunkr, "Alice <alice@example.com>", "", false},
		{Lunkr, "5b503ee9e4b02abb5318b23e", "", false},
		{Lunkr, "", "", false},
	}
	for _, tt := range tests {
		got, ok := normalizeID(tt.vendor, tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("normalizeID(%s, %q) = %q, %v; want %q, %v", tt.vendor, tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestKeyAndHandleForms(t *testing.T) {
	for _, k := range []string{"a", "release-crew", "ops.broadcast_2", "2024"} {
		if !keyRE.MatchString(k) {
			t.Errorf("key %q refused", k)
		}
	}
	for _, k := range []string{"", "-a", ".a", "a b", "a/b", "发布", string(make([]byte, 101))} {
		if keyRE.MatchString(k) {
			t.Errorf("key %q accepted", k)
		}
	}
	for _, h := range []string{"alice", "zhang.wei", "张伟", "o_brien-2"} {
		if !handleRE.MatchString(h) {
			t.Errorf("handle %q refused", h)
		}
	}
	for _, h := range []string{"", "1alice", "alice@example.com", "a b", "_a"} {
		if handleRE.MatchString(h) {
			t.Errorf("handle %q accepted", h)
		}
	}
}

func TestCheckEndpoint(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"https://www.yunzhijia.com/gateway/", "https://www.yunzhijia.com/gateway/", true},
		{"https://api.lunkr.cn/api", "https://api.lunkr.cn/api/", true},
		{"HTTPS://api.lunkr.cn/api/", "HTTPS://api.lunkr.cn/api/", true},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080/", true},
		{"http://127.9.9.9/", "http://127.9.9.9/", true},
		{"http://[::1]:9/x/", "http://[::1]:9/x/", true},
		{"http://localhost/x/", "http://localhost/x/", true},
		{"http://128.0.0.1/", "", false},
		{"http://localhost.example.com/", "", false},
		{"http://[::2]/", "", false},
		{"https://", "", false},
		{"www.yunzhijia.com/gateway/", "", false},
		{"https://u:p@host/", "", false},
		{"https://host/?a=b", "", false},
		{"https://host/#frag", "", false},
		{"mailto:a@b.c", "", false},
	}
	for _, tt := range tests {
		got, problem := checkEndpoint(tt.in)
		if got != tt.want || (problem == "") != tt.ok {
			t.Errorf("checkEndpoint(%q) = %q, %q; want %q, ok=%v", tt.in, got, problem, tt.want, tt.ok)
		}
	}
}
