package spec

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"groupsync/internal/vendors"
)

func TestLoadAuth(t *testing.T) {
	dir := writeFiles(t, map[string]string{"a.yaml": `version: 1
providers:
  kingdee:  {vendor: yunzhijia, auth: {eid: "10109", secret: "${YZJ_IM_SECRET}"}}
  coremail: {vendor: lunkr,     auth: {clientId: lk-app-1, clientSecret: "${LUNKR_APP_SECRET}"}}
  scripted: {vendor: lunkr, tokenCommand: [lunkr-token], tokenCommandTimeout: 45s}
`})
	m, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	kd, cm, sc := m.Providers["kingdee"], m.Providers["coremail"], m.Providers["scripted"]
	if diff := cmp.Diff(&Auth{Values: map[string]string{"eid": "10109"}, Env: map[string]string{"secret": "YZJ_IM_SECRET"}}, kd.Auth); diff != "" {
		t.Errorf("kingdee auth (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(&Auth{Values: map[string]string{"clientId": "lk-app-1"}, Env: map[string]string{"clientSecret": "LUNKR_APP_SECRET"}}, cm.Auth); diff != "" {
		t.Errorf("coremail auth (-want +got):\n%s", diff)
	}
	if sc.TokenCommandTimeout != 45*time.Second || sc.Auth != nil {
		t.Errorf("scripted = %+v", sc)
	}
	env := map[string]string{"YZJ_IM_SECRET": "s3cr3t", "EMPTY": ""}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	creds, err := kd.ResolveAuth(lookup)
	if err != nil || !cmp.Equal(creds, vendors.Credentials{"eid": "10109", "secret": "s3cr3t"}) {
		t.Errorf("ResolveAuth = %v, %v", creds, err)
	}
	_, err = cm.ResolveAuth(lookup)
	if want := "provider coremail: auth.clientSecret: environment variable LUNKR_APP_SECRET is not set"; err == nil || err.Error() != want {
		t.Errorf("ResolveAuth error %v, want %q", err, want)
	}
	if got := cm.AuthEnv(); !cmp.Equal(got, []string{"LUNKR_APP_SECRET"}) {
		t.Errorf("AuthEnv = %v", got)
	}
}

// TestAuthFieldsFromVendors: the validator takes each vendor's fields from
// its package, so that a vendor's auth is declared in one place.
func TestAuthFieldsFromVendors(t *testing.T) {
	for _, d := range vendors.All() {
		v, a := d.Name, d.Auth
		if a == nil {
			continue
		}
		if len(a.Fields) == 0 || a.Fetch == nil || len(a.Secrets()) == 0 {
			t.Errorf("%s: auth %+v needs fields, a secret and a fetch", v, a.Fields)
		}
	}
	if _, err := Load(writeFiles(t, map[string]string{"a.yaml": "version: 1\nproviders:\n  p: {vendor: lunkr, auth: {clientId: x, clientSecret: literal}}\n"})); err == nil || strings.Contains(err.Error(), "literal\n") {
		t.Errorf("a literal secret: %v", err)
	}
}
