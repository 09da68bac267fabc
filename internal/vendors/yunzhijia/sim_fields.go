package yunzhijia

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
)

// fields is a request body as the simulator checks it: a JSON object whose
// keys match exactly (encoding/json alone would accept "CurrentUID").
type fields map[string]json.RawMessage

// parseObject parses an object that has no key outside allowed.
func parseObject(data []byte, allowed ...string) (fields, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return nil, fmt.Errorf("body is not a JSON object")
	}
	var f fields
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("body is not valid JSON: %v", err)
	}
	for k := range f {
		if !slices.Contains(allowed, k) {
			return nil, fmt.Errorf("unknown field %q", k)
		}
	}
	return f, nil
}

// str reads a string field; a required one must be present and non-empty.
func (f fields) str(name string, required bool) (string, error) {
	raw, ok := f[name]
	if !ok || string(raw) == "null" {
		if required {
			return "", fmt.Errorf("%s is required", name)
		}
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("%s must be a string", name)
	}
	if required && s == "" {
		return "", fmt.Errorf("%s is required", name)
	}
	return s, nil
}

// uid reads a required user id: 24 hexadecimal digits.
func (f fields) uid(name string) (string, error) {
	s, err := f.str(name, true)
	if err != nil {
		return "", err
	}
	if !IsID(s) {
		return "", fmt.Errorf("%s %q is not a user id", name, s)
	}
	return s, nil
}

// uids reads a required array of user ids.
func (f fields) uids(name string) ([]string, error) {
	raw, ok := f[name]
	if !ok || string(raw) == "null" {
		return nil, fmt.Errorf("%s is required", name)
	}
	var ids []string
	if err := json.Unmarshal(raw, &ids); err != nil || ids == nil {
		return nil, fmt.Errorf("%s must be an array of strings", name)
	}
	for _, id := range ids {
		if !IsID(id) {
			return nil, fmt.Errorf("%s: %q is not a user id", name, id)
		}
	}
	return ids, nil
}

// object reads a required object field with keys among allowed.
func (f fields) object(name string, allowed ...string) (fields, error) {
	raw, ok := f[name]
	if !ok || string(raw) == "null" {
		return nil, fmt.Errorf("%s is required", name)
	}
	o, err := parseObject(raw, allowed...)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	return o, nil
}
