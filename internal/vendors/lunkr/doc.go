// Package lunkr is the Lunkr (论客) group API: a typed client implementing
// vendors.Client, and a simulator (an http.Handler) that speaks the same
// wire format, for tests, benchmarks and the sandbox.
//
// # Calls
//
// Base https://api.lunkr.cn/api/, token in the accessToken query parameter
// (added by vendors.Transport):
//
//	GET  groups/info?groupId=   -> var {groupId, groupName, groupType, createTime, memberCount, subscribers, members}
//	POST groups/create (JSON)   {name, groupType, members, subscribers} -> var {groupId}
//	GET  groups/list?userId=    -> var or data {topic, group, sysTopic} of {userId, email, userName[, role]}
//
// members and subscribers are comma-separated strings of emails or uids;
// subscribers is left out when empty and allowed only for sysTopic, whose
// members are its administrators. The list's "group" array holds public
// groups (GroupRef.Type "public"). Lunkr offers no add-members, notices or
// banners: those methods return vendors.ErrUnsupported without a call.
//
// # Access tokens (auth:)
//
// Auth fetches a token with the client-credentials grant: POST
// <origin of endpoint>/oauth/accessToken?client_id=&client_secret=&grant_type=client_credentials
// (the vendor also takes GET), answered in plain JSON (no code envelope)
// {access_token, token_type, expires_in (seconds), scope}. There is no
// refresh token: a token is renewed by asking again before it expires. The
// secret is in the query, so a network error's URL is never repeated. The
// vendor's page shows no error answer (unconfirmed): HTTP 400, 401 or 403,
// or an OAuth "error" field, is taken as a wrong clientId or clientSecret
// (vendors.ErrBadCredentials); the simulator answers HTTP 401
// {"error": "invalid_client", "error_description": …}.
//
// # Codes
//
// The envelope is {"code": "10000", "var": …}; code is a string (a number is
// accepted). Codes other than 10000 become a *vendors.Error:
//
//	10000 ok
//	10001 unknown error       -> ErrVendor (on groups/create: ErrUnknownOutcome, as the group may exist)
//	10002 invalid token       -> ErrUnauthorized (assumption, see below)
//	10006 no permission       -> ErrNoPermission
//	10008 over the limit      -> ErrRateLimited, retried with backoff like a 429 (any call: it was not made)
//	20101 user not found      -> ErrBadRequest (the message names the user when known)
//	20102 bad group type      -> ErrBadRequest
//	20201 group not found     -> ErrNotFound
//	other                     -> ErrVendor, with the code
//
// HTTP 401 is ErrUnauthorized too (the transport's rule); either makes the
// transport get a new token (tokenCommand or auth:) once and retry once. An answer
// that does not parse, lacks a code, or lacks the payload the call needs
// (info's var.members, create's var.groupId) wraps vendors.ErrUnreadable:
// a read is then retried, a create is an unknown outcome.
//
// # Assumptions (the vendor's page is silent)
//
//   - A refused or expired token answers code 10002 ("invalid token"); the
//     page documents no such code. The simulator answers it with HTTP 200,
//     with the message "accessToken expired" for an issued token past its
//     lifetime.
//   - An error answer may carry a message under "msg" (or "message"); the
//     client uses it as the error's message. The simulator sends "msg".
//   - Fields documented as strings may arrive as numbers (ids, code) and
//     integers as strings (createTime, memberCount, role); both are read.
//   - subscribers entries have the members' shape; a bare email or uid
//     string is accepted too.
//   - memberCount counts members only, not subscribers.
//   - A sysTopic group's robot address starts with "s.." (topics "t..",
//     public groups "c..", as in the page's example).
//
// # Simulator
//
// The Simulator keeps a user directory and groups. Any well-formed email or
// decimal uid a request names is registered on the fly (an email gets the
// next free uid from 1000000 up, away from group ids; a uid gets the email
// u<uid>@sim.lunkr.invalid), except users named by RejectUser, which answer
// 20101; emails match without case. Group ids come from a counter starting at 10000 (skipping
// ids in use) and double as the group's userId in groups/list. It checks
// the token (10002), the method (405), the content type of create (415) and
// each field; a request malformed in a way the page documents no code for
// (bad JSON, a field not a string, a missing field, an unknown field,
// subscribers on a non-sysTopic group) is answered HTTP 400 with code 10001,
// which the client reports as ErrBadRequest. groups/list answers under
// "data" like the page's example (SetListPayloadKey("var") switches) and
// leaves out empty arrays as the example does.
//
// Faults (latency, 429/503 shares, a rate limit, lost answers and dropped
// connections after a write is applied) are seeded and can be limited to
// some calls; FailNextAfterApply, ForceCode and RejectNext are exact knobs
// for tests that count attempts. With SetAuth it serves the token endpoint
// (at /oauth/accessToken, outside the API base, as the vendor's is), issuing
// a new token per request with a configurable lifetime on its clock
// (SetNow); RevokeTokens invalidates them. Snapshot and Restore save the world (not
// tokens or knobs). Membership is indexed both ways so that 10,000 groups of
// 200 members cost map operations, never scans of every group.
//
// testdata/ holds the page's own examples, verbatim: the client decodes
// them, its create request matches the example request, and the
// simulator's answers have the same keys.
package lunkr
