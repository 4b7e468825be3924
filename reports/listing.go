package reports

import "container/heap"

// The request listing keeps the lowest MaxListedRequests sequence numbers of a run in a bounded heap.

// seqHeap holds the MaxListedRequests requests with the lowest sequence
// numbers seen so far: a max-heap on Seq, so the highest is evicted first
// (the capture streams in completion order, not sequence order).
type seqHeap []Request

func (h seqHeap) full() bool { return len(h) >= MaxListedRequests }

func (h seqHeap) max() int64 { return h[0].Seq }

func (h seqHeap) Len() int { return len(h) }

func (h seqHeap) Less(i, j int) bool { return h[i].Seq > h[j].Seq }

func (h seqHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }

func (h *seqHeap) Push(x any) { *h = append(*h, x.(Request)) }

func (h *seqHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// push adds rq, evicting the highest sequence number when full.
func (h *seqHeap) push(rq Request) {
	if !h.full() {
		heap.Push(h, rq)
		return
	}
	if rq.Seq < h.max() {
		(*h)[0] = rq
		heap.Fix(h, 0)
	}
}
