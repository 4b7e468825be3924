package capture

import (
	"fmt"
	"io"
)

// ReadHAR reads a HAR 1.2 capture written by WriteHAR back into exchanges.
// TODO(proxy helper): implement with the HAR writer.
func ReadHAR(r io.Reader, name string) ([]*Exchange, error) {
	return nil, fmt.Errorf("read HAR %s: not implemented yet", name)
}
