package lab

import "sync"

// LimitedBuffer is an io.Writer that keeps the first Max bytes written to it
// and discards the rest, so the output of a long-running tool (iftop,
// nethogs) cannot grow without bound. It is safe for concurrent writes.
type LimitedBuffer struct {
	Max int
	mu  sync.Mutex
	buf []byte
}

// Write keeps what fits and reports everything as written.
func (l *LimitedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) < l.Max {
		l.buf = append(l.buf, p[:min(len(p), l.Max-len(l.buf))]...)
	}
	return len(p), nil
}

// Bytes returns a copy of what was kept.
func (l *LimitedBuffer) Bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]byte(nil), l.buf...)
}
