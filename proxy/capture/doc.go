// Package capture is the capture model that every side of the harness reads:
// one Exchange per thing a client tried to send, streamed to disk as JSON
// Lines while it is recorded, and read back for checking and replay.
//
// It imports nothing from the proxy, the checks or the reports, so a capture
// outlives any change of policy and can be judged offline, byte for byte.
//
// A JSON Lines capture is a sequence of Records. A request is written the
// moment it has been read (type "exchange"); its response, if one follows, is
// a later record (type "response") naming the same sequence number. A reader
// merges the two, so a run killed between request and response still shows
// the request.
//
//	w, _ := capture.Create(dir + "/capture.jsonl")
//	w.Exchange(&ex)             // at request time, flushed
//	w.Response(ex.Seq, &resp)   // when (if) the response is known
//	w.Close()
//
//	exs, err := capture.Load(dir) // a folder, a .jsonl or a .har file
package capture
