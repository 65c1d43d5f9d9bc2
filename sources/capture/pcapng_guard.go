package capture

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Limits on what a capture file may claim. Every length read from a file is
// checked against them, and against the bytes the file still holds when its
// size is known, before anything is allocated for it: a damaged or hostile
// file gets a FileError, never an allocation it does not pay for in bytes.
const (
	// maxSnap is the largest packet (captured length) and snap length
	// accepted: 1 MiB, four times the 256 KiB that tcpdump and dumpcap
	// capture at most and sixteen times a 64 KiB GSO/GRO super-packet.
	maxSnap = 1 << 20
	// maxBlock is the largest pcapng block: 16 MiB, room for a packet of
	// maxSnap with large options, and for the name-resolution, secrets
	// and custom blocks that are skipped unread.
	maxBlock = 16 << 20
	// maxInterfaces bounds the interfaces of one pcapng section; each
	// one is kept in memory until the section ends.
	maxInterfaces = 4096
)

// pcapng block types that the pcapng reader interprets.
const (
	ngSection    = 0x0a0d0d0a
	ngInterface  = 1
	ngPacketOld  = 2
	ngSimple     = 3
	ngNames      = 4
	ngStatistics = 5
	ngEnhanced   = 6
	ngSecrets    = 10
)

// ngBlockShape names a block type and says how many bytes after the 8-byte
// block header the pcapng reader reads as fixed fields, and whether options
// follow that it parses one by one (the other blocks' remainders it skips
// as one run of bytes).
func ngBlockShape(typ uint32) (name string, fixed int, options bool) {
	switch typ {
	case ngSection:
		return "section header", 16, true // byte-order mark, version, section length
	case ngInterface:
		return "interface description", 8, true // link type, reserved, snap length
	case ngStatistics:
		return "interface statistics", 12, true // interface, timestamp
	case ngEnhanced:
		return "enhanced packet", 20, false // interface, timestamp, captured and wire length
	case ngPacketOld:
		return "packet", 20, false // interface, drops, timestamp, captured and wire length
	case ngSimple:
		return "simple packet", 4, false // wire length
	case ngNames:
		return "name resolution", 0, false
	case ngSecrets:
		return "decryption secrets", 0, false
	}
	return "unknown", 0, false
}

// ngLongestHeader is the most a check reads at once: an enhanced packet
// block's header and fixed fields.
const ngLongestHeader = 28

type ngStep uint8

const (
	stepBlock   ngStep = iota // a block header is next
	stepOption                // an option header is next
	stepTrailer               // the block's trailing length is next
)

// ngGuard sits between a pcapng file and gopacket's pcapng reader, which
// trusts every length it reads: it allocates a packet buffer of the
// captured length (or of the interface's snap length) before it reads a
// byte of the packet, and steps through options by their own lengths. The
// guard walks the same block and option structure as the bytes pass and
// hands out a header only after checking it: block lengths (leading and
// trailing), captured lengths against their block, snap lengths and
// option lengths against the limits above and the bytes the file still
// holds. A damaged block ends the stream with an error the File reports
// at the block's offset; the reader never sees it.
type ngGuard struct {
	src *bufio.Reader
	// pos is the offset of the next byte the guard hands out; size is
	// how many bytes the file holds from offset 0 (0: unknown, a stream).
	pos, size int64
	// order is the current section's byte order, first the first
	// section's.
	order, first binary.ByteOrder
	// free is how many bytes may pass before next must be checked.
	free int64
	next ngStep
	// The current block: its offset, type, total length, and (for
	// blocks with parsed options) the bytes from the next option to the
	// end of the block.
	start   int64
	typ     uint32
	length  uint32
	optLeft int64
	// The current section: interfaces so far, and the first one's snap
	// length (which cuts simple packets).
	sections int
	ifaces   int
	snap0    uint32
	// err ends the stream; errAt is the offset of the block it is about.
	// ended is set when the stream ended cleanly between two blocks.
	err   error
	errAt int64
	ended bool
}

func newNgGuard(src *bufio.Reader, size int64) *ngGuard {
	return &ngGuard{src: src, size: size, order: binary.LittleEndian, first: binary.LittleEndian}
}

// Read hands out checked bytes. It returns what it has without an error
// when a check fails after some bytes were copied; the error comes with the
// next call, so that a reader never gets it together with the bytes it
// needed.
func (g *ngGuard) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if g.free == 0 {
			if g.err == nil && (n == 0 || g.src.Buffered() >= ngLongestHeader) {
				// Check the next piece if that needs no wait.
				g.err = g.check()
			}
			if g.err != nil || g.free == 0 {
				break
			}
		}
		m, err := g.src.Read(p[n : n+int(min(g.free, int64(len(p)-n)))])
		n += m
		g.pos += int64(m)
		g.free -= int64(m)
		if m == 0 && err != nil {
			if errors.Is(err, io.EOF) {
				err = g.cut(g.pos - g.start)
			}
			g.err, g.errAt = err, g.start
			break
		}
		if g.src.Buffered() == 0 {
			break // the next bytes need a read from the file
		}
	}
	if n > 0 {
		return n, nil
	}
	return 0, g.err
}

// check validates what comes next and sets how many bytes may pass.
func (g *ngGuard) check() error {
	var err error
	switch g.next {
	case stepBlock:
		err = g.checkBlock()
	case stepOption:
		err = g.checkOption()
	case stepTrailer:
		err = g.checkTrailer()
	}
	if err != nil {
		g.errAt = g.start
	}
	return err
}

// peek returns the next n bytes of the current block (n counted from its
// start), or the error for a file that ends before them.
func (g *ngGuard) peek(n int) ([]byte, error) {
	ahead := int(g.pos - g.start)
	b, err := g.src.Peek(n - ahead)
	if err != nil {
		return nil, g.cut(int64(ahead + len(b)))
	}
	return b, nil
}

// cut is the error for a file that ends after have bytes of the current
// block.
func (g *ngGuard) cut(have int64) error {
	name, _, _ := ngBlockShape(g.typ)
	if g.length == 0 {
		return fmt.Errorf("file ends inside a pcapng block header (%d bytes of it present): %w", have, io.ErrUnexpectedEOF)
	}
	return fmt.Errorf("file ends inside a pcapng %s block (%d of its %d bytes present): %w", name, have, g.length, io.ErrUnexpectedEOF)
}

// bad is the error for a damaged block.
func (g *ngGuard) bad(format string, a ...any) error {
	return fmt.Errorf("%s: the file is corrupt or not a capture", fmt.Sprintf(format, a...))
}

func (g *ngGuard) checkBlock() error {
	g.start, g.typ, g.length = g.pos, 0, 0
	h, err := g.src.Peek(8)
	if len(h) == 0 && errors.Is(err, io.EOF) {
		g.ended = true
		return io.EOF
	}
	if err != nil {
		return g.cut(int64(len(h)))
	}
	typ := g.order.Uint32(h)
	if typ == ngSection { // the same in both byte orders
		g.typ = typ
		if h, err = g.peek(12); err != nil {
			return err
		}
		switch binary.LittleEndian.Uint32(h[8:]) {
		case 0x1a2b3c4d:
			g.order = binary.LittleEndian
		case 0x4d3c2b1a:
			g.order = binary.BigEndian
		default:
			return g.bad("pcapng section header without a valid byte-order mark")
		}
		if g.sections++; g.sections == 1 {
			g.first = g.order
		}
		g.ifaces, g.snap0 = 0, 0
	} else if g.sections == 0 {
		return g.bad("pcapng file does not start with a section header")
	}
	length := g.order.Uint32(h[4:])
	name, fixed, options := ngBlockShape(typ)
	least := uint32(8 + fixed + 4)
	switch {
	case length < least || length%4 != 0:
		return g.bad("pcapng %s block has an impossible length of %d bytes (at least %d, a multiple of 4)", name, length, least)
	case length > maxBlock:
		return g.bad("pcapng %s block of %d bytes is larger than the %d MiB limit", name, length, maxBlock>>20)
	}
	g.typ, g.length = typ, length
	if g.size > 0 && int64(length) > g.size-g.start {
		// Said before reading: a cut file, or a length that lies.
		return g.cut(g.size - g.start)
	}
	if h, err = g.peek(8 + fixed); err != nil {
		return err
	}
	switch typ {
	case ngInterface:
		snap := g.order.Uint32(h[12:])
		if snap > maxSnap {
			return g.bad("pcapng interface snap length of %d bytes is larger than the %d MiB packet limit", snap, maxSnap>>20)
		}
		if g.ifaces == maxInterfaces {
			return g.bad("pcapng section has more than %d interfaces", maxInterfaces)
		}
		if g.ifaces == 0 {
			g.snap0 = snap
		}
		g.ifaces++
	case ngEnhanced, ngPacketOld:
		if err := g.checkCaptured(name, g.order.Uint32(h[20:]), length-32); err != nil {
			return err
		}
	case ngSimple:
		// A simple packet holds its wire length cut to the first
		// interface's snap length, as the reader computes it.
		captured := g.order.Uint32(h[8:])
		if g.snap0 != 0 && captured > g.snap0 {
			captured = g.snap0
		}
		if err := g.checkCaptured(name, captured, length-16); err != nil {
			return err
		}
	}
	g.free = int64(8 + fixed)
	if options {
		g.next, g.optLeft = stepOption, int64(length)-int64(8+fixed)
		return nil
	}
	g.next, g.free = stepTrailer, int64(length)-4
	if int(length) <= g.src.Buffered() {
		// The whole block is at hand: check its end now and let it
		// pass in one piece.
		if err := g.checkTrailer(); err != nil {
			return err
		}
		g.free = int64(length)
	}
	return nil
}

// checkCaptured checks a packet's captured length against the limit and the
// room its block has for data.
func (g *ngGuard) checkCaptured(name string, captured, room uint32) error {
	if captured > maxSnap {
		return g.bad("pcapng %s block claims a captured length of %d bytes, more than the %d MiB packet limit", name, captured, maxSnap>>20)
	}
	if captured > room {
		return g.bad("pcapng %s block claims a captured length of %d bytes, its %d-byte block holds at most %d", name, captured, g.length, room)
	}
	return nil
}

// checkOption checks the next option of a block whose options the reader
// parses: it reads the option's length and skips that many bytes, so an
// option that runs past the block would make it read the next block's
// header as option data, and a later header unchecked.
func (g *ngGuard) checkOption() error {
	if g.optLeft == 4 { // only the trailing length is left
		return g.checkTrailer()
	}
	h, err := g.peek(int(int64(g.length) - g.optLeft + 4))
	if err != nil {
		return err
	}
	name, _, _ := ngBlockShape(g.typ)
	code, n := g.order.Uint16(h), g.order.Uint16(h[2:])
	if code == 0 { // end of options: the reader skips the rest
		if n != 0 {
			return g.bad("pcapng %s block has an end-of-options marker of length %d (must be 0)", name, n)
		}
		g.next, g.free = stepTrailer, g.optLeft-4
		return nil
	}
	size := 4 + (int64(n)+3)&^3
	if size > g.optLeft-4 {
		return g.bad("pcapng %s block has an option of %d bytes where only %d are left before its end", name, n, g.optLeft-8)
	}
	g.free, g.optLeft = size, g.optLeft-size
	return nil
}

func (g *ngGuard) checkTrailer() error {
	h, err := g.peek(int(g.length))
	if err != nil {
		return err
	}
	if t := g.order.Uint32(h[len(h)-4:]); t != g.length {
		name, _, _ := ngBlockShape(g.typ)
		return g.bad("pcapng %s block ends with a length of %d bytes, it started with %d", name, t, g.length)
	}
	g.next, g.free = stepBlock, 4
	return nil
}
