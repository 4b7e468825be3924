// Package session runs a command under the recording proxy and writes its run
// folder: the environment of the tool contract, the command in its own
// process group with the harness as child subreaper, and the wait for late
// senders.
//
//	run, err := session.Record(ctx, session.Options{
//		Argv: []string{"python3", "pants.py", "lint", "::"},
//		Out:  "out/opt-in",
//	})
//
// Record creates the folder (capture.jsonl, capture.har, stdout, stderr,
// run.json), starts a proxy with a fresh CA, and runs the command with an
// allowlisted environment: PATH, LANG, TZ, TERM; HOME a fresh empty folder;
// USER/LOGNAME/USERNAME planted or inherited; every proxy variable, in both
// cases, at the proxy; NO_PROXY empty; every CA variable at the harness
// bundle, whatever the harness's own environment says (see BuildEnv).
//
// # Late senders
//
// Telemetry is often sent by a process that outlives the command (Pants'
// daemon sends after the CLI returns). After the command exits, recording
// goes on while any process of the session lives or any client connection
// to the proxy is open, and ends the moment neither holds (after
// Options.Settle, default 0). Everything is event driven: the command's exit,
// a pidfd per descendant, the proxy's connection-change channel, timers.
// Processes are attributed to a session by a marker variable whose name and
// value are random per session and look like a user's own (no variable
// names the harness),
// their process group and session ids and their parent, so several sessions
// can run in one harness process; orphans reparented to the harness are
// reaped.
//
// In a sealed run (see netwatch) the harness's child is the namespace's
// helper, the init of a PID namespace; the tool is the helper's child. The
// helper reaps the tool and every orphan of the namespace and reports the
// tool's wait status the moment it reaped it: that is the run's exit code
// or signal, and its time is MainExit, while daemons the tool left go on in
// the namespace and are waited for (Launcher.Members: every process in the
// namespace but the helper). When the harness dies, the helper dies with it
// and the kernel kills everything in the namespace. Where the kernel
// refuses the PID namespace, the tool runs without one and egress.json says
// so (contained false, contain_reason); where it refuses a private sysfs,
// the tool sees the host's /sys (private_sys false, sys_reason).
//
// A sealed run also writes sslkeys.log (0600, NSS key log format): the TLS
// secrets of every connection the proxy terminated, tunnel or transparent,
// so that `tshark -r packets.pcapng -o tls.keylog_file:sslkeys.log`
// decrypts them. They are the keys of sessions with the run's throwaway
// CA's leaves and reveal only what capture.jsonl holds; Options.NoKeyLog
// leaves the file out.
//
// At Options.Timeout (default 60 s) whatever is alive is sent SIGTERM, then
// SIGKILL, and run.json says so (timed_out, killed with reason "timeout").
//
// # Tools that keep a daemon on purpose
//
// A daemon that stays up (pantsd) would hold every run until the timeout.
// Options.IdleStop ends that wait early without cutting off a late report:
// once the command has exited, if for a whole IdleStop window no proxy
// connection was opened or closed, no exchange was recorded, no process
// started, and the remaining processes used at most 1% of one CPU, they are
// stopped and recorded as killed with reason "idle". A connection that stays
// open but silent (a keep-alive pool) does not hold the run: what was sent
// on it is already in the capture. A daemon that is still preparing or
// sending its report burns CPU, connects or sends, so it is left alone;
// choose a window longer than the tool's slowest pause between work and
// send (a few seconds for Pants). A daemon stopped while it waits for a slow
// answer loses only the response record; its request was recorded when it
// arrived.
package session
