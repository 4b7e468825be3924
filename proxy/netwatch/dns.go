package netwatch

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Query is one question a tool asked the namespace's DNS responder; dns.jsonl
// holds one per line.
type Query struct {
	Time time.Time `json:"time"`
	// Name is the name asked, without the trailing dot.
	Name string `json:"name"`
	// Type is the record type, e.g. "A", "AAAA", "HTTPS".
	Type string `json:"type"`
	// Client is the asking socket's address inside the namespace.
	Client string `json:"client"`
	// Answer is the address given back; empty when the type has no answer.
	Answer string `json:"answer,omitempty"`
}

// dnsResponder answers every A question (and AAAA, when v6 is set) with the
// namespace's transparent addresses, so that a client that ignores the proxy connects to
// the transparent listeners, and logs every name it is asked.
type dnsResponder struct {
	conn   *net.UDPConn
	log    io.Writer // nil: no log file
	v4, v6 netip.Addr
	marker []byte // the drain marker: read and ignored

	mu      sync.Mutex
	queries []Query
	logErr  error

	done chan struct{}
}

func (d *dnsResponder) serve() {
	defer close(d.done)
	buf := make([]byte, 65535)
	for {
		n, from, err := d.conn.ReadFromUDPAddrPort(buf)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			continue // e.g. ECONNREFUSED from an earlier reply; keep serving
		}
		msg := buf[:n]
		if bytes.Equal(msg, d.marker) {
			continue
		}
		resp, qs, err := d.answer(msg, from)
		if err != nil {
			continue // not DNS: the capture still classifies the packet
		}
		d.record(qs)
		_, _ = d.conn.WriteToUDPAddrPort(resp, from)
	}
}

// answer decodes a query and builds the response.
func (d *dnsResponder) answer(msg []byte, from netip.AddrPort) ([]byte, []Query, error) {
	var q layers.DNS
	if err := q.DecodeFromBytes(msg, gopacket.NilDecodeFeedback); err != nil {
		return nil, nil, fmt.Errorf("decode dns query: %w", err)
	}
	if q.QR {
		return nil, nil, errors.New("decode dns query: got a response")
	}
	resp := layers.DNS{
		ID: q.ID, QR: true, OpCode: q.OpCode, AA: true, RD: q.RD, RA: true,
		ResponseCode: layers.DNSResponseCodeNoErr,
		Questions:    q.Questions,
	}
	now := time.Now().UTC()
	qs := make([]Query, 0, len(q.Questions))
	for _, question := range q.Questions {
		rec := Query{
			Time: now, Name: strings.TrimSuffix(string(question.Name), "."),
			Type: question.Type.String(), Client: from.String(),
		}
		var ip netip.Addr
		switch question.Type {
		case layers.DNSTypeA:
			ip = d.v4
		case layers.DNSTypeAAAA:
			ip = d.v6
		}
		if ip.IsValid() {
			rec.Answer = ip.String()
			resp.Answers = append(resp.Answers, layers.DNSResourceRecord{
				Name: question.Name, Type: question.Type, Class: layers.DNSClassIN,
				TTL: 5, IP: ip.AsSlice(),
			})
		}
		qs = append(qs, rec)
	}
	buf := gopacket.NewSerializeBuffer()
	if err := resp.SerializeTo(buf, gopacket.SerializeOptions{FixLengths: true}); err != nil {
		return nil, nil, fmt.Errorf("encode dns answer: %w", err)
	}
	return buf.Bytes(), qs, nil
}

// record keeps the queries and streams them to the log, one write per line,
// so that a killed run keeps every name asked so far.
func (d *dnsResponder) record(qs []Query) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.queries = append(d.queries, qs...)
	if d.log == nil || d.logErr != nil {
		return
	}
	for _, q := range qs {
		line, err := json.Marshal(q)
		if err == nil {
			_, err = d.log.Write(append(line, '\n'))
		}
		if err != nil {
			d.logErr = fmt.Errorf("write dns log: %w", err)
			return
		}
	}
}

func (d *dnsResponder) snapshot() ([]Query, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]Query(nil), d.queries...), d.logErr
}
