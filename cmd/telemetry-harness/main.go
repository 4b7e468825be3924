// Command telemetry-harness turns a published telemetry privacy promise into
// an executable test: it records everything a tool tries to send and checks
// the capture against policy.yaml.
//
// Usage:
//
//	telemetry-harness run [--tool "CMD ARGS"] [--policy FILE] [--scenario NAME]... [--label-filter EXPR] [--out DIR]
//	telemetry-harness init --tool "CMD ARGS" [--opt-in ENV=VAL]... [--opt-in-file PATH:CONTENT]... [--out policy.yaml] [-- TOOL-ARGS...]
//	telemetry-harness replay DIR
//	telemetry-harness record [--out DIR] [--forward] [--settle DUR] [--timeout DUR] [--idle-stop DUR] [--seal auto|on|off] -- COMMAND [ARGS...]
//	telemetry-harness check [--policy FILE] --scenario NAME --capture DIR|FILE.har|FILE.jsonl [--canaries FILE]
//	telemetry-harness diff [--format text|md|json] A B
//	telemetry-harness matrix --policy FILE --install TEMPLATE --tool TEMPLATE (--versions V1,V2,... | --range RANGE --package PKG)
//	telemetry-harness bisect --good V1 --bad V2 [--clause ID] --policy FILE --install TEMPLATE --tool TEMPLATE ...
//	telemetry-harness version
//
// Exit codes: 0 compliant (or recording worked), 1 harness error, 2 usage
// error, 3 violations found.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/telemetry-harness/telemetry-harness/proxy/netwatch"
)

func main() {
	// The sealed namespace re-executes this binary as its helper.
	netwatch.MaybeRunHelper()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
