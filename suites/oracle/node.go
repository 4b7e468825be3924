package oracle

import (
	"encoding/hex"
	"fmt"
	"math/big"
	"net"
	"strconv"
	"strings"
)

// Node is one interface's MAC as Python's uuid.getnode() would report it.
type Node struct {
	// Interface is the interface name, e.g. "eth0".
	Interface string
	// MAC is the hardware address.
	MAC net.HardwareAddr
	// Decimal is the MAC as a 48-bit integer in decimal, the form
	// str(uuid.getnode()) takes.
	Decimal string
	// Universal is true for a universally administered MAC, which
	// uuid.getnode() prefers over a locally administered one.
	Universal bool
}

// NodeDecimal is str(uuid.getnode()) for mac: its 6 bytes as one big-endian
// integer in decimal.
func NodeDecimal(mac net.HardwareAddr) string {
	return new(big.Int).SetBytes(mac).String()
}

// NodeForms are the spellings of a node the harness plants and searches for:
// decimal, 12 lower-case hex digits, and colon-separated hex.
func NodeForms(mac net.HardwareAddr) []string {
	return []string{NodeDecimal(mac), hex.EncodeToString(mac), mac.String()}
}

// NodeCandidates lists this machine's 48-bit, non-zero MACs in interface
// order, universally administered ones first, the order in which
// uuid.getnode() would pick them. Inside a sealed namespace the harness
// sets the MAC itself, so this is only for runs outside one.
func NodeCandidates() ([]Node, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("list network interfaces: %w", err)
	}
	var universal, local []Node
	for _, it := range ifs {
		mac := it.HardwareAddr
		if len(mac) != 6 || isZero(mac) {
			continue
		}
		n := Node{Interface: it.Name, MAC: mac, Decimal: NodeDecimal(mac), Universal: mac[0]&0x02 == 0}
		if n.Universal {
			universal = append(universal, n)
		} else {
			local = append(local, n)
		}
	}
	return append(universal, local...), nil
}

// ParseNode reads a node in any of NodeForms' spellings; twelve decimal
// digits are read as decimal, since that is uuid.getnode()'s form.
func ParseNode(s string) (net.HardwareAddr, error) {
	if strings.ContainsAny(s, ":-.") {
		if mac, err := net.ParseMAC(s); err == nil && len(mac) == 6 {
			return mac, nil
		}
		return nil, fmt.Errorf("parse node %q: want a decimal 48-bit integer, 12 hex digits or aa:bb:cc:dd:ee:ff", s)
	}
	base := 10
	if len(s) == 12 {
		if _, err := strconv.ParseUint(s, 10, 64); err != nil {
			base = 16
		}
	}
	n, err := strconv.ParseUint(s, base, 48)
	if err != nil {
		return nil, fmt.Errorf("parse node %q: want a decimal 48-bit integer, 12 hex digits or aa:bb:cc:dd:ee:ff", s)
	}
	mac := make(net.HardwareAddr, 6)
	for i := 5; i >= 0; i-- {
		mac[i] = byte(n)
		n >>= 8
	}
	return mac, nil
}

func isZero(mac net.HardwareAddr) bool {
	for _, b := range mac {
		if b != 0 {
			return false
		}
	}
	return true
}
