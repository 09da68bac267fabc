package spec

import (
	"strings"
	"testing"
)

func TestResolveToken(t *testing.T) {
	env := map[string]string{"YZJ_TOKEN": "s3cr3t", "EMPTY": ""}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	tests := []struct {
		name    string
		p       Provider
		want    string
		wantErr string
	}{
		{"set", Provider{Name: "kingdee", TokenEnv: "YZJ_TOKEN"}, "s3cr3t", ""},
		{"unset", Provider{Name: "kingdee", TokenEnv: "NOPE"}, "", "provider kingdee: environment variable NOPE is not set"},
		{"empty", Provider{Name: "kingdee", TokenEnv: "EMPTY"}, "", "provider kingdee: environment variable EMPTY is empty"},
		{"command", Provider{Name: "coremail", TokenCommand: []string{"tok"}}, "", "provider coremail: has no token variable: its token comes from tokenCommand"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.p.ResolveToken(lookup)
			if got != tt.want {
				t.Errorf("token = %q, want %q", got, tt.want)
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("error = %v", err)
			case tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr):
				t.Errorf("error = %v, want %q", err, tt.wantErr)
			case err != nil && strings.Contains(err.Error(), "s3cr3t"):
				t.Errorf("error leaks the token: %v", err)
			}
		})
	}
}
