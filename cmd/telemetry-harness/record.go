package main

import (
	"context"
	"errors"
	"io"
)

// recordCommand is owned by the session/record work (issue 2).
func recordCommand() command {
	return command{name: "record", usage: "record [--out DIR] [--forward] [--settle DUR] [--timeout DUR] -- COMMAND [ARGS...]",
		short: "run COMMAND under the recording proxy and save what it sends",
		run: func(ctx context.Context, args []string, stdout, stderr io.Writer) int {
			return harnessError(stderr, errors.New("record: not implemented yet"))
		}}
}
