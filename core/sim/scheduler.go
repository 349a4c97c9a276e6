package sim

import (
	"container/heap"
	"context"
	"sync"
	"time"
)

// task is one piece of future work. Tasks due at the same time run in the
// order they were added, so a scenario's steps keep their written order.
type task struct {
	due  time.Time
	seq  uint64
	name string
	run  func(ctx context.Context)
}

type taskHeap []*task

func (h taskHeap) Len() int { return len(h) }
func (h taskHeap) Less(i, j int) bool {
	if !h[i].due.Equal(h[j].due) {
		return h[i].due.Before(h[j].due)
	}
	return h[i].seq < h[j].seq
}
func (h taskHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *taskHeap) Push(x any)   { *h = append(*h, x.(*task)) }
func (h *taskHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return t
}

// scheduler is the one queue of future work, ordered by due time. It has its
// own lock so that adding work never waits for the state lock, and work
// always runs with neither lock held.
type scheduler struct {
	mu   sync.Mutex
	h    taskHeap
	seq  uint64
	wake chan struct{} // nudges the real-clock runner when the head changes
}

func newScheduler() *scheduler { return &scheduler{wake: make(chan struct{}, 1)} }

func (s *scheduler) add(due time.Time, name string, run func(ctx context.Context)) {
	s.mu.Lock()
	s.seq++
	heap.Push(&s.h, &task{due: due, seq: s.seq, name: name, run: run})
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// popDue removes and returns the earliest task due at or before now.
func (s *scheduler) popDue(now time.Time) *task {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.h) == 0 || s.h[0].due.After(now) {
		return nil
	}
	return heap.Pop(&s.h).(*task)
}

// next returns the due time of the earliest task.
func (s *scheduler) next() (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.h) == 0 {
		return time.Time{}, false
	}
	return s.h[0].due, true
}

// pending lists the queued work, earliest first, for the state readers.
func (s *scheduler) pending() []ScheduledTask {
	s.mu.Lock()
	cp := make(taskHeap, len(s.h))
	copy(cp, s.h)
	s.mu.Unlock()
	out := make([]ScheduledTask, 0, len(cp))
	for cp.Len() > 0 {
		t := heap.Pop(&cp).(*task)
		out = append(out, ScheduledTask{Due: t.due, Name: t.name})
	}
	return out
}

// ScheduledTask describes one piece of queued future work.
type ScheduledTask struct {
	Due  time.Time `json:"due"`
	Name string    `json:"name"`
}
