package proxy

import (
	"errors"
	"net"
	"strings"
	"time"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
)

// ServeTransparent serves the transparent listeners of a sealed network
// namespace, where a client that ignored HTTPS_PROXY lands after the
// namespace's DNS answered every name with a local address. https gets TLS
// with a leaf certificate for the name the client asked for (SNI, else the
// address it dialled) from the proxy's own CA, http plain HTTP/1.x. Each
// connection is handled like a decrypted CONNECT tunnel to that name (sink
// answers, forwarding, opaque and rejected records alike), and every record
// has Path capture.PathTransparent. Either listener may be nil. The
// connections count in OpenConns; Close closes both listeners and waits for
// their connections.
func (p *Proxy) ServeTransparent(https, http net.Listener) error {
	var ls []net.Listener
	for _, l := range []net.Listener{https, http} {
		if l != nil {
			ls = append(ls, l)
		}
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return errors.New("serve transparent listeners: proxy closed")
	}
	p.wg.Add(len(ls))
	p.mu.Unlock()
	for _, l := range ls {
		go p.acceptTransparent(l)
	}
	// Close ends the accept loops by closing their listeners; done is
	// closed before Close waits for them.
	go func() {
		<-p.done
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	return nil
}

// acceptBackoff is the pause after an accept error other than a closed
// listener (EMFILE and the like), so the loop does not spin.
const acceptBackoff = 5 * time.Millisecond

func (p *Proxy) acceptTransparent(l net.Listener) {
	defer p.wg.Done()
	for {
		c, err := l.Accept()
		if err != nil {
			select {
			case <-p.done:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			p.logf("transparent accept on %s: %v", l.Addr(), err)
			time.Sleep(acceptBackoff)
			continue
		}
		tc := &trackedConn{Conn: c, id: p.tracker.nextID.Add(1), tracker: p.tracker, path: capture.PathTransparent}
		p.tracker.add(tc)
		// Close sets closed before it closes every tracked connection: a
		// connection added after that is closed here.
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			tc.Close()
			continue
		}
		p.wg.Add(1)
		p.mu.Unlock()
		go func() {
			defer p.wg.Done()
			defer tc.Close()
			t := &tunnel{p: p, tc: tc, target: c.LocalAddr().String()}
			t.serve(tc)
		}()
	}
}

// retarget names the host a transparent connection was meant for once the
// SNI or the Host header tells: the listener's own address says nothing.
// It does nothing for tunnels through the proxy, whose CONNECT named it.
func (t *tunnel) retarget(host, port string) {
	if t.tc.path != capture.PathTransparent || host == "" {
		return
	}
	if _, _, err := net.SplitHostPort(host); err != nil {
		host = net.JoinHostPort(strings.Trim(host, "[]"), port)
	}
	t.target = host
}
