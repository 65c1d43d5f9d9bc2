package output

import (
	"fmt"
	"io"
	"time"

	"netriage/views/format"
)

// Progress is a progress line on stderr: redrawn in place ("\r", clear to
// the end of the line, the text) while a subcommand works, and cleared at
// the end. It draws only on a terminal: a Progress on a nil writer draws
// nothing.
type Progress struct {
	w     io.Writer
	drawn bool
}

// NewProgress returns a progress line on w; pass nil when stderr is not a
// terminal.
func NewProgress(w io.Writer) *Progress { return &Progress{w: w} }

// draw replaces the line with s.
func (p *Progress) draw(s string) {
	if p.w == nil {
		return
	}
	fmt.Fprintf(p.w, "\r\x1b[K%s", s)
	p.drawn = true
}

// Clear erases the line if one was drawn.
func (p *Progress) Clear() {
	if p.drawn {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.drawn = false
	}
}

// Observing draws check's line: "netriage check: observing WHAT, 7s
// left", the time left rounded to the second (never below 0).
func (p *Progress) Observing(what string, left time.Duration) {
	left = max(left.Round(time.Second), 0)
	p.draw(fmt.Sprintf("netriage check: observing %s, %s left", format.Sanitize(what, 0), left))
}

// Reading draws replay's line: "replay: X of Y (Z%), N packets, R
// packets/s", read and size in bytes, the rate over elapsed.
func (p *Progress) Reading(read, size int64, packets uint64, elapsed time.Duration) {
	pct := 0.0
	if size > 0 {
		pct = float64(read) * 100 / float64(size)
	}
	pps := 0.0
	if el := elapsed.Seconds(); el > 0 {
		pps = float64(packets) / el
	}
	p.draw(fmt.Sprintf("replay: %s of %s (%.0f%%), %d packets, %.0f packets/s",
		format.Bytes(uint64(max(read, 0)), false), format.Bytes(uint64(max(size, 0)), false), pct, packets, pps))
}
