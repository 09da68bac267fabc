package reconcile

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
)

// groupsMark is where the groups go in the indented document of a plan
// whose Groups is nil: a key at depth 1, so no string value can hold it
// (json escapes the quotes of a value).
const groupsMark = "\n  \"groups\": "

// WriteSaved writes the saved plan file of p to w group by group: the
// bytes of EncodeSaved, without the whole document in memory (at 50,000
// groups it is hundreds of MB, twice: compact and indented).
func WriteSaved(w io.Writer, p *Plan) error {
	head := *p
	head.Groups = nil
	doc, err := json.MarshalIndent(&head, "", "  ")
	if err != nil {
		return err
	}
	i := bytes.Index(doc, []byte(groupsMark+"null"))
	if i < 0 {
		return errors.New("saved plan: no groups in the document") // a Plan always has the field
	}
	i += len(groupsMark)
	if _, err := w.Write(doc[:i]); err != nil {
		return err
	}
	if err := writeGroups(w, p.Groups); err != nil {
		return err
	}
	if _, err := w.Write(doc[i+len("null"):]); err != nil {
		return err
	}
	_, err = w.Write([]byte{'\n'})
	return err
}

// writeGroups writes the groups array as MarshalIndent does at depth 1:
// each element indented by itself, with the prefix of its depth.
func writeGroups(w io.Writer, groups []GroupPlan) error {
	switch {
	case groups == nil:
		_, err := io.WriteString(w, "null")
		return err
	case len(groups) == 0:
		_, err := io.WriteString(w, "[]")
		return err
	}
	if _, err := io.WriteString(w, "[\n"); err != nil {
		return err
	}
	// One buffer for every group: the encoder reuses its own as well.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("    ", "  ")
	for i := range groups {
		buf.Reset()
		buf.WriteString("    ")
		if err := enc.Encode(&groups[i]); err != nil {
			return err
		}
		buf.Truncate(buf.Len() - 1) // Encode's newline
		if i < len(groups)-1 {
			buf.WriteByte(',')
		}
		buf.WriteByte('\n')
		if _, err := w.Write(buf.Bytes()); err != nil {
			return err
		}
	}
	_, err := io.WriteString(w, "  ]")
	return err
}
