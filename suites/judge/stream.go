package judge

// Streaming a run's capture through the checkers, observing and searching each exchange once, in parallel.

import (
	"errors"
	"fmt"
	"runtime"
	"sort"
	"sync"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
	"github.com/telemetry-harness/telemetry-harness/suites/observe"
)

// stream feeds one run's exchanges through every checker.
func (j *judgement) stream(rv *runView, ks []*checker) error {
	marks := make([]int, len(ks))
	for i, k := range ks {
		if k.start != nil {
			k.start(rv)
		}
		marks[i] = len(k.out.findings)
	}
	err := j.eachPrepared(rv, func(x *item) {
		if rv.lister == nil {
			j.judgeItem(rv, ks, x)
			return
		}
		// An exchange a finding arose on is printed now, while it is in
		// hand: the reports then need not read the capture again.
		before := findingCount(ks)
		j.judgeItem(rv, ks, x)
		rv.lister.exchange(x.ex, x.o, findingCount(ks) > before)
	})
	if err != nil {
		return fmt.Errorf("run %d: %w", rv.idx+1, err)
	}
	// A capture streams in completion order; findings about exchanges are
	// listed in sequence order, as a reader of the capture expects.
	for i, k := range ks {
		seg := k.out.findings[marks[i]:]
		sort.SliceStable(seg, func(a, b int) bool { return seg[a].Exchange < seg[b].Exchange })
		if k.end != nil {
			k.end(rv)
		}
	}
	return nil
}

// findingCount is how many findings the checks kept so far.
func findingCount(ks []*checker) int {
	n := 0
	for _, k := range ks {
		n += len(k.out.findings)
	}
	return n
}

// judgeItem runs every check on one exchange of rv.
func (j *judgement) judgeItem(rv *runView, ks []*checker, x *item) {
	switch {
	case x.ex.FromServer:
		// What the server said (forward mode) is not the tool's.
		return
	case x.ex.Kind == capture.KindWebSocketMessage:
		// A message on an upgrade is judged like a body, but it is
		// no request of its own (failure-harmless counts requests).
	default:
		rv.exchanges++
	}
	rv.lastSeq = max(rv.lastSeq, x.ex.Seq)
	switch {
	case x.o == nil && x.ex.Empty():
		// Nothing went through it: there is nothing to be blind to.
		rv.empty++
	case x.o == nil:
		rv.blind = append(rv.blind, blindExchange{Seq: x.ex.Seq, Kind: x.ex.Kind, Host: x.ex.Host})
	default:
		rv.observed++
		// A cut body is seen only in part: the run is blind to the rest.
		if r := cutReason(x.ex); r != "" {
			rv.blind = append(rv.blind, blindExchange{Seq: x.ex.Seq, Kind: x.ex.Kind, Host: x.ex.Host, Why: r})
		}
	}
	for _, k := range ks {
		if k.each != nil {
			k.each(rv, x)
		}
	}
}

// inFlight bounds the exchanges between the capture reader, the workers
// and the checks, so memory stays flat whatever the capture's size.
const inFlight = 32

// errStopped ends the capture reader early when judging failed.
var errStopped = errors.New("judging stopped")

// eachPrepared hands fn every exchange of rv, prepared (observed and
// searched for canaries: the costly part, independent per exchange) by
// GOMAXPROCS workers, in capture order and one at a time, so that the
// checks keep their state without locks.
func (j *judgement) eachPrepared(rv *runView, fn func(*item)) error {
	workers := runtime.GOMAXPROCS(0)
	if workers < 2 {
		return rv.EachExchange(func(ex *capture.Exchange) error {
			x := &item{j: j, ex: ex}
			if err := x.prepare(); err != nil {
				return err
			}
			fn(x)
			return nil
		})
	}
	work := make(chan *item, inFlight)
	ordered := make(chan *item, inFlight)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for x := range work {
				x.err = x.prepare()
				close(x.ready)
			}
		}()
	}
	readErr := make(chan error, 1)
	go func() {
		err := rv.EachExchange(func(ex *capture.Exchange) error {
			x := &item{j: j, ex: ex, ready: make(chan struct{})}
			select {
			case ordered <- x:
			case <-stop:
				return errStopped
			}
			work <- x // never blocks for long: the workers drain work until it closes
			return nil
		})
		close(work)
		close(ordered)
		readErr <- err
	}()
	var failed error
	for x := range ordered {
		<-x.ready
		switch {
		case failed != nil: // drain what is in flight
		case x.err != nil:
			failed = x.err
			close(stop)
		default:
			fn(x)
		}
	}
	wg.Wait()
	if err := <-readErr; failed == nil {
		return err
	}
	return failed
}

// prepare observes the exchange and searches it for every planted canary;
// an exchange the harness could not see inside stays unobserved.
func (x *item) prepare() error {
	if x.ex == nil {
		return errors.New("a nil exchange in the run")
	}
	switch x.ex.Kind {
	case capture.KindTunnelRejected, capture.KindOpaqueTunnel:
		return nil
	}
	o, err := observe.Observe(x.ex, x.j.obsOpts)
	if err != nil {
		return fmt.Errorf("observe exchange #%d: %w", x.ex.Seq, err)
	}
	x.o = o
	x.canaryHits()
	return nil
}
