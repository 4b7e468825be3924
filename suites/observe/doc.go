// Package observe turns one captured capture.Exchange into the normalised view
// every policy rule reads: the request line split into parts, the decoded
// body, the body parsed as JSON where it is JSON (with strings that are
// themselves JSON objects or arrays parsed too), tag lists split into key and
// value, query parameters and headers, each value reachable by a path that
// findings cite.
//
// Nothing here knows a particular tool. Which JSON arrays are "key:value" tag
// lists comes in through Options:
//
//	obs, err := observe.Observe(ex, observe.Options{
//		TagLists: []observe.TagList{{Path: "$.tags", Sep: ":"}},
//	})
//	obs.Get("$.content.user_id")  // JSON inside the "content" string, parsed
//	obs.Get("tags[goal]")         // every value of tag key "goal"
//	obs.Get("header:user-agent")  // header names are case-insensitive
//	obs.Keys("$.content")         // object keys in wire order, repeats kept
//
// # Path grammar
//
// Every Value carries a path in one of these forms:
//
//	url                 the request URL as recorded
//	header:NAME         a header; NAME as on the wire, looked up case-insensitively
//	query:NAME          a query parameter of the URL, percent-decoding undone
//	$                   the JSON body's root
//	$.key               object member whose key matches [A-Za-z_][A-Za-z0-9_-]*
//	$["any key"]        any other object member: the key as a double-quoted
//	                    Go/JSON string literal
//	$[3]                array element, from 0
//	LIST[KEY]           a value of key KEY in the tag list named LIST; KEY is
//	                    double-quoted when it holds '[', ']' or '"'
//
// Segments chain: `$.content.standard_goals[0]`, `$[2].properties["a.b"]`. A
// string that holds JSON object or array text (Pants' `content`) is replaced
// by what it parses to, so its members continue the path of the string
// (`$.content.user_id`); the string's path is listed in Observation.Embedded.
//
// Lookups (Get, Keys) also accept the wildcards `[*]` (any array element or
// object member) and `.*` (any object member): `$.standard_goals[*]`,
// `$[*].event`. Canonical paths never contain a bare `*`: a key "*" is
// written `["*"]`.
//
// A tag list's name is the last key of its Path (`$.tags` gives `tags`) unless
// TagList.Name says otherwise. Tag values appear twice in Values: as the JSON
// string at their array path (`$.tags[13]`, Kind "string") and as a tag
// (`tags[goal]`, Kind "tag"); searches over raw text should skip Kind "tag".
//
// # Limits
//
// Numbers keep their text as written. Duplicate object keys are all kept in
// Values and Keys (in wire order) and listed in DuplicateKeys; in JSON the last
// one wins, as in encoding/json. Nesting deeper than Options.MaxDepth (JSON
// inside JSON strings counts too) stops the parse: BodyError says so and JSON
// and the body's Values are left empty, so a rule can report the body as
// unreadable instead of silently passing it.
package observe
