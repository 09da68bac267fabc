// Package render formats a reconcile.Plan for people and scripts: Text for a
// terminal (SPEC section 3), Markdown for pull-request comments and JSON, the
// stable versioned document (formatVersion 1) that saved plans also use.
//
// Invariants:
//   - Renderers take a finished plan and decide nothing: every count, action
//     and fix comes from the plan; they only choose words, order and layout.
//     Nothing shown here steers apply.
//   - Output is deterministic: the same plan renders to the same bytes.
//   - Colour is used only when the caller asks (Options.Color), and then only
//     on the action marks: green '+', yellow '~', red '!'.
//   - Strings that come from manifests or vendors are shown with control and
//     format characters escaped, so they cannot break the layout or send
//     escape sequences to a terminal.
//   - Markdown stays under MaxMarkdown characters (GitHub refuses longer
//     comments) and says what it cut.
package render
