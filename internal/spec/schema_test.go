package spec

import (
	"groupsync/internal/vendors"

	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// schemaFile is the committed schema examples/groups.yaml's modeline
// points at.
const schemaFile = "../../schema/groups.schema.json"

func loadSchema(t *testing.T) map[string]any {
	t.Helper()
	data, err := Schema()
	if err != nil {
		t.Fatal(err)
	}
	var s map[string]any
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSchemaFileUpToDate: schema/groups.schema.json is what `groupsync
// schema` prints; -update rewrites it.
func TestSchemaFileUpToDate(t *testing.T) {
	data, err := Schema()
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.MkdirAll(filepath.Dir(schemaFile), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(schemaFile, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(schemaFile)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/spec -run TestSchemaFileUpToDate -update)", err)
	}
	if !bytes.Equal(got, data) {
		t.Errorf("%s is not what Schema() makes: run go test ./internal/spec -run TestSchemaFileUpToDate -update", schemaFile)
	}
}

// modelFields maps each field of the manifest model's structs to the
// manifest field it comes from, or to "" when the loader derives it. A
// field added to the model and not here fails TestSchemaCoversModel: give
// it its manifest field (and a schema in schema.go), or mark it derived.
var modelFields = map[string]map[string]string{
	"Provider": {
		"Name": "", "Vendor": "vendor", "Endpoint": "endpoint", "TokenEnv": "token", "TokenCommand": "tokenCommand",
		"Operator": "operator", "OperatorHandle": "", "Workspace": "workspace", "RateLimit": "rateLimit",
		"Prune": "prune", "Read": "read", "Pos": "",
		"TokenCommandTimeout": "tokenCommandTimeout", "Auth": "auth",
	},
	"Person": {"Handle": "", "IDs": ""}, // the map key and the vendor fields (personFields)
	"Group": {
		"Key": "key", "Provider": "provider", "Vendor": "", "Name": "name", "Type": "type", "Owner": "owner",
		"Members": "members", "Subscribers": "subscribers", "Notices": "notices", "Banners": "banners",
		"GroupID": "groupId", "Previously": "previously", "Prune": "prune", "Pos": "",
	},
	"Notice": {"Title": "title", "Content": "content"},
	"Banner": {
		"Content": "content", "Title": "title", "LightAppID": "lightAppId", "ThumbURL": "thumbUrl",
		"WebpageURL": "webpageUrl", "PrimaryContent": "primaryContent", "ContentURL": "contentUrl",
	},
}

// TestSchemaCoversModel: every field of the model is accounted for, and
// every manifest field the parser knows has a schema property (Schema
// itself fails when one has none).
func TestSchemaCoversModel(t *testing.T) {
	s := loadSchema(t)
	defs := s["$defs"].(map[string]any)
	props := func(def string) map[string]any {
		return defs[def].(map[string]any)["properties"].(map[string]any)
	}
	types := map[string]reflect.Type{
		"Provider": reflect.TypeFor[Provider](), "Person": reflect.TypeFor[Person](), "Group": reflect.TypeFor[Group](),
		"Notice": reflect.TypeFor[Notice](), "Banner": reflect.TypeFor[Banner](),
	}
	defOf := map[string]string{"Provider": "provider", "Person": "person", "Group": "group", "Notice": "notice", "Banner": "banner"}
	for name, typ := range types {
		known := modelFields[name]
		for i := range typ.NumField() {
			f := typ.Field(i).Name
			field, ok := known[f]
			switch {
			case !ok:
				t.Errorf("spec.%s.%s is new: add its manifest field to modelFields and schema.go (or mark it derived with \"\")", name, f)
			case field != "":
				if _, ok := props(defOf[name])[field]; !ok {
					t.Errorf("spec.%s.%s comes from %q, which the schema's %s lacks", name, f, field, defOf[name])
				}
			}
		}
	}
	for def, fields := range map[string][]string{"manifest": docFields, "provider": providerFields, "person": vendors.Names(),
		"group": groupFields, "notice": noticeFields, "banner": bannerFields} {
		var got []string
		for k := range props(def) {
			got = append(got, k)
		}
		want := slices.Clone(fields)
		sort.Strings(got)
		sort.Strings(want)
		if !slices.Equal(got, want) {
			t.Errorf("schema %s has %v, the parser knows %v", def, got, want)
		}
	}
}

// TestSchemaPatterns: the schema's patterns are the parser's forms.
func TestSchemaPatterns(t *testing.T) {
	for _, tt := range []struct {
		pattern string
		re      *regexp.Regexp
		samples []string
	}{
		{keyPattern, keyRE, []string{"release-crew", "a.b_c-1", "-x", "", strings.Repeat("k", 100), strings.Repeat("k", 101), "键"}},
		{handlePattern, handleRE, []string{"alice", "张三", "a1._-", "1a", "_a", "a@b", strings.Repeat("名", 64), strings.Repeat("名", 65)}},
		{envPattern, envRE, []string{"${YZJ_TOKEN}", "${_X1}", "$YZJ", "${1X}", "x${A}", "${A}x", "${}"}},
	} {
		re := regexp.MustCompile(tt.pattern)
		for _, s := range tt.samples {
			if re.MatchString(s) != tt.re.MatchString(s) {
				t.Errorf("%q: schema pattern %s says %v, the parser %v", s, tt.pattern, re.MatchString(s), tt.re.MatchString(s))
			}
		}
	}
	for _, s := range []string{"https://www.yunzhijia.com/gateway/", "https://api.lunkr.cn/api", "http://127.0.0.1:8080/", "http://localhost/api/", "http://[::1]:9/",
		"http://example.com/", "https://user@x.example/", "https://x.example/?q=1", "https://x.example/#f", "ftp://x.example/", "https://"} {
		_, problem := checkEndpoint(s)
		if regexp.MustCompile(endpointPattern).MatchString(s) != (problem == "") {
			t.Errorf("endpoint %q: schema pattern and checkEndpoint (%q) disagree", s, problem)
		}
	}
}

// manifestSets are the valid manifests of the repository, each loaded as
// Load is given them (a directory is one manifest of several files).
func manifestSets(t *testing.T) [][]string {
	t.Helper()
	sets := [][]string{{"../../examples/groups.yaml"}, {"testdata/multi/split"}}
	for _, dir := range []string{"testdata/multi", "../../cmd/groupsync/testdata"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
		for _, f := range files {
			sets = append(sets, []string{f})
		}
	}
	return sets
}

// TestSchemaAcceptsValid: every document of every valid manifest passes.
func TestSchemaAcceptsValid(t *testing.T) {
	s := loadSchema(t)
	n := 0
	for _, set := range manifestSets(t) {
		m, err := Load(set...)
		if err != nil {
			continue // not a valid manifest: TestSchemaRejectsInvalid's business
		}
		for _, file := range m.Files {
			docs := yamlDocs(t, file)
			for i, doc := range docs {
				if err := validate(s, s, doc, "$"); err != nil {
					t.Errorf("%s document %d: the schema refuses a valid manifest: %v", file, i+1, err)
				}
				n++
			}
		}
	}
	if n < 5 {
		t.Errorf("only %d valid documents checked", n)
	}
	t.Logf("%d valid documents checked", n)
}

// notExpressible are the invalid manifests whose one error needs the whole
// manifest (or the YAML source) to see: the schema accepts them, validate
// refuses them.
var notExpressible = map[string]string{
	"banner-on-lunkr":              "needs the group's provider's vendor",
	"group-id-invalid":             "the id's form depends on the vendor",
	"group-id-pinned-twice":        "uniqueness across groups",
	"group-key-duplicate":          "uniqueness across groups",
	"handle-without-vendor-id":     "needs the people directory",
	"lunkr-needs-name-and-members": "needs the group's provider's vendor",
	"mapping-key-duplicate":        "a duplicate key is gone once the YAML is decoded",
	"member-duplicate":             "uniqueness after resolving handles",
	"member-unknown-handle":        "needs the people directory",
	"notice-on-lunkr":              "needs the group's provider's vendor",
	"owner-on-lunkr":               "needs the group's provider's vendor",
	"previously-live":              "uniqueness across groups",
	"subscribers-not-systopic":     "needs the group's type and vendor together",
	"type-on-yunzhijia":            "needs the group's provider's vendor",
	"yunzhijia-no-owner":           "needs the provider's operator",
	"wecom-rules":                  "name length, member counts and the owner depend on the group's provider's vendor",
}

// TestSchemaRejectsInvalid: every invalid manifest the schema can express
// is refused by it; the others are listed, with why, in notExpressible.
func TestSchemaRejectsInvalid(t *testing.T) {
	s := loadSchema(t)
	files, _ := filepath.Glob("testdata/invalid/*.yaml")
	files = append(files, "../../cmd/groupsync/testdata/invalid.yaml")
	if len(files) < 30 {
		t.Fatalf("only %d invalid manifests found", len(files))
	}
	seen := map[string]bool{}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		seen[name] = true
		if _, err := Load(file); err == nil {
			t.Errorf("%s loads: it is not invalid", file)
			continue
		}
		docs, err := yamlDocsErr(file)
		if err != nil {
			continue // not YAML at all: no editor schema applies
		}
		var refused error
		for _, doc := range docs {
			if refused = validate(s, s, doc, "$"); refused != nil {
				break
			}
		}
		why, exempt := notExpressible[name]
		switch {
		case refused == nil && !exempt:
			t.Errorf("%s: the schema accepts an invalid manifest (add a rule to schema.go, or list it in notExpressible with why)", file)
		case refused != nil && exempt:
			t.Errorf("%s is listed as not expressible (%s), but the schema refuses it: %v", file, why, refused)
		}
	}
	for name := range notExpressible {
		if !seen[name] {
			t.Errorf("notExpressible lists %s, which is not in testdata/invalid", name)
		}
	}
}

// TestSchemaValidator checks the test's own validator on each keyword.
func TestSchemaValidator(t *testing.T) {
	s := loadSchema(t)
	good := `version: 1
providers:
  kingdee: {vendor: yunzhijia, token: "${YZJ_TOKEN}", rateLimit: 2.5, read: full}
people:
  张三: {yunzhijia: 5b6cea82e4b05df05b3efc2b}
groups:
  - key: crew
    provider: kingdee
    members: [张三, 10664]
    notices: [{title: 值班, content: 表}]
    previously: [old-crew]
`
	for _, tt := range []struct {
		name, yaml string
		ok         bool
	}{
		{"good", good, true},
		{"empty document", "", true},
		{"empty mapping", "{}", true},
		{"version quoted", strings.Replace(good, "version: 1", `version: "1"`, 1), false},
		{"version 2", strings.Replace(good, "version: 1", "version: 2", 1), false},
		{"no version", strings.Replace(good, "version: 1", "", 1), false},
		{"unknown root field", good + "extra: 1\n", false},
		{"unknown vendor", strings.Replace(good, "vendor: yunzhijia", "vendor: wechat", 1), false},
		{"literal token", strings.Replace(good, `"${YZJ_TOKEN}"`, "abc", 1), false},
		{"rate 0", strings.Replace(good, "rateLimit: 2.5", "rateLimit: 0", 1), false},
		{"rate a string", strings.Replace(good, "rateLimit: 2.5", "rateLimit: fast", 1), false},
		{"read other", strings.Replace(good, "read: full", "read: all", 1), false},
		{"bad handle", strings.Replace(good, "张三: {", "1x: {", 1), false},
		{"person empty", strings.Replace(good, "{yunzhijia: 5b6cea82e4b05df05b3efc2b}", "{}", 1), false},
		{"bad key", strings.Replace(good, "key: crew", "key: -crew", 1), false},
		{"no provider", strings.Replace(good, "    provider: kingdee\n", "", 1), false},
		{"empty member", strings.Replace(good, "[张三, 10664]", `[张三, ""]`, 1), false},
		{"members not a list", strings.Replace(good, "[张三, 10664]", "张三", 1), false},
		{"long title", strings.Replace(good, "title: 值班", "title: "+strings.Repeat("长", 41), 1), false},
		{"notice without content", strings.Replace(good, ", content: 表", "", 1), false},
		{"bad previously", strings.Replace(good, "[old-crew]", "[_old]", 1), false},
		{"prune a string", good + "    prune: yes please\n", false},
		{"null members", strings.Replace(good, "[张三, 10664]", "null", 1), true},
	} {
		docs := yamlDocsOf(t, []byte(tt.yaml))
		var err error
		for _, d := range docs {
			if err = validate(s, s, d, "$"); err != nil {
				break
			}
		}
		if (err == nil) != tt.ok {
			t.Errorf("%s: valid = %v, want %v (%v)", tt.name, err == nil, tt.ok, err)
		}
	}
}

// yamlDocs decodes every document of file into JSON values, as an editor
// would see them.
func yamlDocs(t *testing.T, file string) []any {
	t.Helper()
	docs, err := yamlDocsErr(file)
	if err != nil {
		t.Fatal(err)
	}
	return docs
}

func yamlDocsOf(t *testing.T, data []byte) []any {
	t.Helper()
	docs, err := decodeDocs(data)
	if err != nil {
		t.Fatal(err)
	}
	return docs
}

func yamlDocsErr(file string) ([]any, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return decodeDocs(data)
}

func decodeDocs(data []byte) ([]any, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []any
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		v, err := jsonValue(&n)
		if err != nil {
			return nil, err
		}
		docs = append(docs, v)
	}
	if len(docs) == 0 {
		docs = append(docs, nil)
	}
	return docs, nil
}

// jsonValue is n as a JSON value: a timestamp stays a string (YAML 1.2),
// numbers are float64, a merge key stays a key named "<<".
func jsonValue(n *yaml.Node) (any, error) {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return jsonValue(n.Content[0])
	case yaml.AliasNode:
		return jsonValue(n.Alias)
	case yaml.MappingNode:
		m := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			v, err := jsonValue(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[n.Content[i].Value] = v
		}
		return m, nil
	case yaml.SequenceNode:
		out := []any{}
		for _, c := range n.Content {
			v, err := jsonValue(c)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	}
	switch n.Tag {
	case "!!null":
		return nil, nil
	case "!!bool":
		var b bool
		err := n.Decode(&b)
		return b, err
	case "!!int", "!!float":
		var f float64
		if err := n.Decode(&f); err != nil {
			return nil, err
		}
		return f, nil
	}
	return n.Value, nil
}

// validate is a JSON Schema validator for the keywords Schema emits; it
// fails on any other keyword, so that the schema cannot outgrow what is
// tested.
func validate(root, schema map[string]any, v any, at string) error {
	for kw, arg := range schema {
		var err error
		switch kw {
		case "$schema", "$id", "title", "description", "$defs":
		case "$ref":
			name, ok := strings.CutPrefix(arg.(string), "#/$defs/")
			if !ok {
				return fmt.Errorf("%s: unsupported $ref %v", at, arg)
			}
			def, ok := root["$defs"].(map[string]any)[name].(map[string]any)
			if !ok {
				return fmt.Errorf("%s: no $defs/%s", at, name)
			}
			err = validate(root, def, v, at)
		case "type":
			err = checkType(arg, v, at)
		case "enum":
			found := false
			for _, e := range arg.([]any) {
				if reflect.DeepEqual(e, v) {
					found = true
				}
			}
			if !found {
				err = fmt.Errorf("%s: %v is not one of %v", at, v, arg)
			}
		case "pattern":
			if s, ok := v.(string); ok && !regexp.MustCompile(arg.(string)).MatchString(s) {
				err = fmt.Errorf("%s: %q does not match %s", at, s, arg)
			}
		case "minLength", "maxLength":
			if s, ok := v.(string); ok {
				n, lim := utf8.RuneCountInString(s), int(arg.(float64))
				if kw == "minLength" && n < lim || kw == "maxLength" && n > lim {
					err = fmt.Errorf("%s: %d characters, %s %d", at, n, kw, lim)
				}
			}
		case "exclusiveMinimum":
			if f, ok := v.(float64); ok && f <= arg.(float64) {
				err = fmt.Errorf("%s: %v is not above %v", at, f, arg)
			}
		case "minItems":
			if a, ok := v.([]any); ok && len(a) < int(arg.(float64)) {
				err = fmt.Errorf("%s: %d items, at least %v", at, len(a), arg)
			}
		case "items":
			if a, ok := v.([]any); ok {
				for i, item := range a {
					if err = validate(root, arg.(map[string]any), item, at+"["+strconv.Itoa(i)+"]"); err != nil {
						break
					}
				}
			}
		case "minProperties", "maxProperties":
			if m, ok := v.(map[string]any); ok {
				lim := int(arg.(float64))
				if kw == "minProperties" && len(m) < lim || kw == "maxProperties" && len(m) > lim {
					err = fmt.Errorf("%s: %d properties, %s %d", at, len(m), kw, lim)
				}
			}
		case "required":
			if m, ok := v.(map[string]any); ok {
				for _, r := range arg.([]any) {
					if _, ok := m[r.(string)]; !ok {
						err = fmt.Errorf("%s: %s is required", at, r)
						break
					}
				}
			}
		case "properties", "additionalProperties", "propertyNames":
			err = checkObject(root, schema, kw, v, at)
		case "oneOf", "anyOf":
			matched := 0
			var errs []string
			for _, sub := range arg.([]any) {
				if e := validate(root, sub.(map[string]any), v, at); e == nil {
					matched++
				} else {
					errs = append(errs, e.Error())
				}
			}
			if kw == "oneOf" && matched != 1 || kw == "anyOf" && matched == 0 {
				err = fmt.Errorf("%s: %s matched %d: %s", at, kw, matched, strings.Join(errs, "; "))
			}
		default:
			return fmt.Errorf("%s: the test validator does not know keyword %q", at, kw)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func checkType(arg, v any, at string) error {
	var types []string
	switch a := arg.(type) {
	case string:
		types = []string{a}
	case []any:
		for _, x := range a {
			types = append(types, x.(string))
		}
	}
	for _, typ := range types {
		switch x := v.(type) {
		case nil:
			if typ == "null" {
				return nil
			}
		case bool:
			if typ == "boolean" {
				return nil
			}
		case float64:
			if typ == "number" || typ == "integer" && x == math.Trunc(x) {
				return nil
			}
		case string:
			if typ == "string" {
				return nil
			}
		case []any:
			if typ == "array" {
				return nil
			}
		case map[string]any:
			if typ == "object" {
				return nil
			}
		}
	}
	return fmt.Errorf("%s: %v is not of type %v", at, v, types)
}

// checkObject applies properties, additionalProperties and propertyNames
// (each once, from the first of them met).
func checkObject(root, schema map[string]any, kw string, v any, at string) error {
	m, ok := v.(map[string]any)
	if !ok || kw != firstObjectKeyword(schema) {
		return nil
	}
	props, _ := schema["properties"].(map[string]any)
	for k, val := range m {
		if pn, ok := schema["propertyNames"].(map[string]any); ok {
			if err := validate(root, pn, k, at+" key "+strconv.Quote(k)); err != nil {
				return err
			}
		}
		if p, ok := props[k]; ok {
			if err := validate(root, p.(map[string]any), val, at+"."+k); err != nil {
				return err
			}
			continue
		}
		switch ap := schema["additionalProperties"].(type) {
		case bool:
			if !ap {
				return fmt.Errorf("%s: unknown field %q", at, k)
			}
		case map[string]any:
			if err := validate(root, ap, val, at+"."+k); err != nil {
				return err
			}
		}
	}
	return nil
}

func firstObjectKeyword(schema map[string]any) string {
	for _, kw := range []string{"properties", "additionalProperties", "propertyNames"} {
		if _, ok := schema[kw]; ok {
			return kw
		}
	}
	return ""
}
