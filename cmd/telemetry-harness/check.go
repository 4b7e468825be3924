package main

import (
	"context"
	"errors"
	"io"
)

// checkCommand is owned by the policy/judge work (issue 3).
func checkCommand() command {
	return command{name: "check", usage: "check --policy FILE --scenario NAME --capture DIR|FILE.har|FILE.jsonl [--canaries FILE]",
		short: "judge a saved capture against the policy",
		run: func(ctx context.Context, args []string, stdout, stderr io.Writer) int {
			return harnessError(stderr, errors.New("check: not implemented yet"))
		}}
}
