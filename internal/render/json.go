package render

import (
	"encoding/json"
	"io"

	"groupsync/internal/printable"
	"groupsync/internal/reconcile"
)

// JSON writes the plan's own JSON encoding, indented by two spaces: the
// stable document of SPEC section 3 (see reconcile.FormatVersion). A plan
// built without a version is written as the current one, and a nil group
// list as an empty one; nothing else is changed and the plan is not modified.
func JSON(w io.Writer, p *reconcile.Plan) error {
	if p == nil {
		return errNilPlan
	}
	doc := *p
	if doc.FormatVersion == 0 {
		doc.FormatVersion = reconcile.FormatVersion
	}
	if doc.Groups == nil {
		doc.Groups = []reconcile.GroupPlan{}
	}
	// Through printable.JSON: vendor names and messages may hold control
	// characters that encoding/json writes raw (DEL, C1, bidi overrides).
	enc := json.NewEncoder(printable.JSONWriter(w))
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(&doc)
}
