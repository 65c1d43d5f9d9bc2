package output

import (
	"bytes"
	"testing"
	"time"
)

func TestProgress(t *testing.T) {
	tests := []struct {
		name string
		draw func(p *Progress)
		want string
	}{
		{"observing", func(p *Progress) { p.Observing("eth0,wg0", 6600*time.Millisecond) },
			"\r\x1b[Knetriage check: observing eth0,wg0, 7s left"},
		{"observing past the end", func(p *Progress) { p.Observing("eth0", -time.Second) },
			"\r\x1b[Knetriage check: observing eth0, 0s left"},
		{"observing a hostile name", func(p *Progress) { p.Observing("x\x1b[2J", time.Second) },
			"\r\x1b[Knetriage check: observing x?[2J, 1s left"},
		{"reading", func(p *Progress) { p.Reading(512_000, 1_024_000, 1000, 2*time.Second) },
			"\r\x1b[Kreplay: 512kB of 1.02MB (50%), 1000 packets, 500 packets/s"},
		{"reading an empty file at once", func(p *Progress) { p.Reading(0, 0, 0, 0) },
			"\r\x1b[Kreplay: 0B of 0B (0%), 0 packets, 0 packets/s"},
		{"redrawn, then cleared once", func(p *Progress) {
			p.Reading(1, 2, 0, time.Second)
			p.Reading(2, 2, 0, time.Second)
			p.Clear()
			p.Clear()
		}, "\r\x1b[Kreplay: 1B of 2B (50%), 0 packets, 0 packets/s\r\x1b[Kreplay: 2B of 2B (100%), 0 packets, 0 packets/s\r\x1b[K"},
		{"nothing drawn, nothing cleared", func(p *Progress) { p.Clear() }, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			tc.draw(NewProgress(&b))
			if got := b.String(); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	// Not a terminal: nothing at all.
	p := NewProgress(nil)
	p.Observing("eth0", time.Second)
	p.Reading(1, 2, 3, time.Second)
	p.Clear()
}
