// Package spec loads and validates groupsync manifests (SPEC section 2) into
// the resolved model the rest of the program uses.
//
// Load reads files and directories (a directory means its *.yaml and *.yml
// files in name order, not recursively, skipping names that start with
// '.'), merges them in the order given and checks every rule. It decodes
// through yaml.Node so that each problem carries file:line:col, and it
// reports every problem of a run at once as an ErrorList sorted by file,
// line and column.
//
// Invariants of a Manifest returned without error:
//   - every document with content says version: 1 (each file can be read
//     on its own; a future version never merges silently into this one);
//     empty files and empty documents are allowed;
//   - provider names, people handles and group keys are unique across all
//     files; a previously key is neither a live key nor claimed twice;
//   - every member, owner, subscriber and operator is resolved to a vendor
//     id of the group's vendor (Yunzhijia: 24 hexadecimal digits, stored in
//     lower case; Lunkr: an email address or a decimal uid), and a group's
//     members are unique after resolving (Lunkr emails compared without
//     case);
//   - every Yunzhijia group has an effective Owner (its owner, else its
//     provider's operator) and only Yunzhijia groups have notices and
//     banners; only Lunkr groups have a Type (topic by default) and only a
//     sysTopic has subscribers;
//   - a group's Prune is its own prune:, else its provider's, and is true
//     only where the vendor's client declares RemoveMembers; a provider's
//     Read is ReadFull only where it declares GroupInfo (the capabilities
//     come from the vendor registry, see capabilities in prune.go);
//   - every provider has an https Endpoint ending in '/' (plain http only for
//     a loopback host), the vendor's default when unset, and exactly one of
//     TokenEnv, TokenCommand and Auth (every field of its vendor's Auth in
//     the registry, secrets as variables). A token or a secret is never a literal
//     in the manifest; ResolveToken and ResolveAuth read the variables when
//     a command needs them.
//
// Forms: a group key, a previously key and a provider name are ASCII
// letters, digits, '.', '_' and '-', starting with a letter or digit, at
// most 100 characters. A people handle starts with a letter (any script)
// followed by letters, digits, '.', '_' or '-', at most 64 characters, so
// that it can never be read as an email or a uid. String fields take
// numbers as written (workspace: 10109 is "10109"); null means unset. YAML
// anchors and aliases work; merge keys (<<) are refused.
//
// The package never prints and never reads the environment by itself.
//
// The vendors and their rules (ids, fields, capabilities, endpoints, auth)
// come from the vendors package's registry, which the registration package
// (internal/vendors/registry) fills: a program or test that loads manifests
// imports it, or every vendor is unknown.
package spec
