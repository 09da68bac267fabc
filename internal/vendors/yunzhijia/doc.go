// Package yunzhijia is the Yunzhijia (云之家) group API: a typed client that
// implements vendors.Client, and a simulator of the same API (an
// http.Handler) for tests, benchmarks and the CLI's sandbox.
//
// # Wire format
//
// Every call is a POST of a JSON body with Content-Type application/json to
// a path under the gateway base (default https://www.yunzhijia.com/gateway/),
// with the access token in the accessToken query parameter:
//
//	call name      path                                          retried after sending
//	createGroup    xtinterface/group/createGroup                 no
//	addGroupUser   xtinterface/group/addGroupUser                yes: adding a member twice is a no-op
//	delGroupUser   xtinterface/group/delGroupUser                yes: removing someone gone is a no-op
//	groupUsers     xtinterface/group/groupUsers                  yes: a read
//	groupInfo      xtinterface/group/groupInfo                   yes: a read (name, managers, current notice)
//	notice/create  xtinterface/notice/create                     no
//	banner/create  xtinterface/banner/create                     no
//	merge          xtinterface/message/merge/createForCloudflow  yes: a repeat only makes another link
//
// Every answer is the envelope {"success", "data", "error", "errorCode"} and
// success alone decides: the merge call answers errorCode 200 with error
// "no error" on success, the others errorCode 0 with error null (groupUsers
// leaves error out). groupInfo's data is an object keyed by the group id:
// {"<groupId>": {"groupInfo": {...}, "notice": {...}, "banner": {...}}}; the
// client reads the entry of the group it asked for, and an answer without
// it is unreadable. An answer whose envelope does not parse, or whose data
// lacks what the call returns, wraps vendors.ErrUnreadable, which the
// transport turns into an unknown outcome for a write.
//
// # Error codes (assumed)
//
// The vendor's pages document no failure codes, and none has been observed
// from the live gateway yet. This package assumes the gateway reuses
// HTTP-like numbers in errorCode, as its merge call does with 200 on
// success; the client and the simulator share this mapping (the Code*
// constants), so a live answer that contradicts it shows as ErrVendor with
// the vendor's code and message:
//
//	errorCode  meaning                                        vendors kind
//	400        bad parameter: missing field, wrong type, id   ErrBadRequest
//	           not 24 hex digits, notice title or content
//	           length, unknown field
//	401        accessToken missing, invalid or expired        ErrUnauthorized: a new token is had once
//	403        operator (currentUid) not in the group         ErrNoPermission
//	404        group not found                                ErrNotFound
//	410        group dismissed                                ErrNotFound
//	other      anything else                                  ErrVendor
//
// An unknown code whose message speaks of an invalid or expired token is
// also taken as ErrUnauthorized, and so is HTTP 401 or 403 (handled by
// vendors.Transport). The simulator answers a bad or missing token with HTTP
// 200 and errorCode 401, as the gateway's envelope style suggests. Its
// HTTP-level refusals (404 unknown path, 405 method, 415 content type, 429,
// 500, 503) carry the same envelope with the status as errorCode.
//
// # Access tokens (auth:)
//
// Auth fetches a token of scope resGroupSecret: POST
// <endpoint>oauth2/token/getAccessToken with JSON {eid, secret, timestamp,
// scope}, the timestamp in milliseconds since the epoch (accepted within
// about 3 minutes of the vendor's clock), answered in the envelope with data
// {accessToken, expireIn (seconds), refreshToken}. Asked again before
// expiry, the vendor answers the same token, so a token is renewed before it
// expires with oauth2/token/refreshToken ({eid, refreshToken, timestamp,
// scope}, same answer), falling back to getAccessToken when that fails.
//
// The token endpoint's failure codes are not published (unconfirmed): a
// refusal whose message speaks of the timestamp, or an answer whose Date
// header is more than 3 minutes from this host's clock, is reported as clock
// skew (vendors.ErrClockSkew); errorCode 400 otherwise is a request this
// package got wrong (ErrVendor); anything else is a wrong eid or secret
// (ErrBadCredentials). The simulator answers a wrong eid, secret or refresh
// token with errorCode 401 (CodeAuthRefused), and a bad timestamp or scope
// with 400 and a message naming it.
//
// The code for an expired token on a group call is not published either
// (unconfirmed): the simulator answers an issued token past its lifetime
// with errorCode 401 (CodeTokenExpired, the invalid-token code) and the
// message "accessToken is expired"; the client takes either as
// ErrUnauthorized, which makes the transport fetch a new token once and
// retry the call once.
//
// # Simulator
//
// Simulator serves the calls above at the root of its mount point: requests
// come as /xtinterface/...; a leading /gateway is also accepted, so both
// srv.URL+"/" and srv.URL+"/gateway/" work as base URLs. It keeps a world of
// groups (members, managers, notices, banners), checks the token, method,
// content type and every field, counts calls, and injects faults (latency,
// 503, 429, a rate limit, answers lost or connections dropped after a write
// was applied) for retry and unknown-outcome tests. Its ids are 24 hex
// digits from a counter, so tests are deterministic. With SetAuth it also
// serves the two token endpoints, issuing 32-character tokens of a
// configurable lifetime on its clock (SetNow); RevokeTokens invalidates
// them. Fixed tokens given to NewSimulator keep working beside them.
//
// Its rules where the pages are silent: user ids are 24 hex digits; a
// created group's creator is its manager and first participant, and a
// group without groupName is named after its first three participants;
// every call on an existing group (addGroupUser, delGroupUser, groupUsers,
// groupInfo, notice/create, banner/create, merge) needs the operator among
// its participants; delGroupUser ignores ids not in the group and drops a
// removed manager from the managers too; groupInfo's notice is the latest
// notice posted (null when none) and its banner the latest banner's params; a
// notice's creator is the operator's id (the vendor gives a person's name).
package yunzhijia
