package capture

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/google/gopacket"
	"github.com/google/gopacket/pcapgo"

	"netriage/sources/privs"
)

// ErrCorrupt marks a capture file that cannot be read further (bad header,
// impossible record, truncated record). Test with errors.Is.
var ErrCorrupt = errors.New("corrupt capture file")

// FileError is a capture-file read error at a byte offset.
type FileError struct {
	// Path is the file; Offset the byte where the bad record or block
	// starts.
	Path   string
	Offset int64
	// Packets is how many packets were read before the error.
	Packets uint64
	Err     error
}

func (e *FileError) Error() string {
	return fmt.Sprintf("%s: byte %d (after %d packets): %v", e.Path, e.Offset, e.Packets, e.Err)
}

func (e *FileError) Unwrap() []error { return []error{ErrCorrupt, e.Err} }

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

type zeroCopyReader interface {
	ZeroCopyReadPacketData() ([]byte, gopacket.CaptureInfo, error)
}

// File reads packets from a pcap or pcapng file (optionally gzip-compressed
// pcap) and decodes them in place. It is not safe for concurrent use.
type File struct {
	path string
	f    *os.File
	size int64
	// avail is how many bytes the reader holds from its start (0:
	// unknown, a stream): what a length read from the file is checked
	// against.
	avail int64
	cr    *countingReader
	br    *bufio.Reader
	r     zeroCopyReader
	ng    *pcapgo.NgReader
	// guard checks pcapng blocks between br and pbr, the buffer the
	// pcapng reader reads from.
	guard *ngGuard
	pbr   *bufio.Reader
	// pcapOrder is the byte order of an uncompressed pcap file's record
	// headers (nil for pcapng and gzip), snap its snap length.
	pcapOrder binary.ByteOrder
	snap      uint32
	link      LinkType
	dec       *Decoder
	decs      map[LinkType]*Decoder
	packets   uint64
}

// OpenFile opens a capture file. Errors name the file; an unsupported link
// type wraps ErrUnsupportedLinkType, an unreadable header ErrCorrupt.
func OpenFile(path string) (*File, error) {
	// The path is the user's: open it with the user's own rights, and
	// refuse a FIFO or device rather than block on it.
	f, err := privs.OpenUser(path)
	if err != nil {
		return nil, fmt.Errorf("open capture file: %w", err)
	}
	fl, err := newFile(path, f)
	if err != nil {
		f.Close()
		return nil, err
	}
	if st, err := f.Stat(); err == nil {
		fl.size = st.Size()
	}
	return fl, nil
}

// NewFileReader reads a capture from r; name is used in messages. The
// caller keeps ownership of r.
func NewFileReader(name string, r io.Reader) (*File, error) { return newFile(name, r) }

func newFile(path string, r io.Reader) (*File, error) {
	fl := &File{path: path, decs: map[LinkType]*Decoder{}, avail: readerLen(r)}
	if f, ok := r.(*os.File); ok {
		fl.f = f
	}
	fl.cr = &countingReader{r: r}
	fl.br = bufio.NewReaderSize(fl.cr, 1<<16)
	head, err := fl.br.Peek(4)
	if err != nil {
		return nil, &FileError{Path: path, Err: fmt.Errorf("too short for a capture file header (%d bytes): %w", len(head), err)}
	}
	switch {
	case binary.BigEndian.Uint32(head) == ngSection:
		// The pcapng reader reads through the guard; the buffer in
		// between has the minimum size at which it is used as it is.
		fl.guard = newNgGuard(fl.br, fl.avail)
		fl.pbr = bufio.NewReaderSize(fl.guard, 4096)
		ng, err := safeNgReader(fl.pbr)
		if err != nil {
			if g := fl.guard; g.err != nil && !g.ended {
				return nil, &FileError{Path: path, Offset: g.errAt, Err: fmt.Errorf("pcapng header: %w", g.err)}
			}
			return nil, &FileError{Path: path, Offset: fl.offset(), Err: fmt.Errorf("pcapng header: %w", err)}
		}
		fl.r, fl.ng = ng, ng
	default:
		var link LinkType
		if h, err := fl.br.Peek(24); err == nil {
			switch binary.LittleEndian.Uint32(h) {
			case 0xa1b2c3d4, 0xa1b23c4d:
				link = LinkType(binary.LittleEndian.Uint32(h[20:]) & 0x0fffffff)
				fl.pcapOrder = binary.LittleEndian
			case 0xd4c3b2a1, 0x4d3cb2a1:
				link = LinkType(binary.BigEndian.Uint32(h[20:]) & 0x0fffffff)
				fl.pcapOrder = binary.BigEndian
			}
		}
		pr, err := pcapgo.NewReader(fl.br)
		if err != nil {
			// pcapgo's message quotes the file's first bytes: say what
			// is wrong without them.
			return nil, &FileError{Path: path, Offset: fl.offset(), Err: errors.New("not a pcap or pcapng file: it does not start with a capture file's magic number")}
		}
		if link == 0 {
			link = LinkType(pr.LinkType())
		}
		// The reader allocates one buffer of the snap length: bound it
		// (a damaged header could ask for 4 GiB). It refuses records
		// larger than the snap length before it allocates.
		if sl := pr.Snaplen(); sl == 0 || sl > maxSnap {
			pr.SetSnaplen(maxSnap)
		}
		fl.r, fl.link, fl.snap = pr, link, pr.Snaplen()
		if fl.dec, err = NewDecoder(link); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	if fl.ng != nil {
		// Interfaces are announced before their packets; the first one
		// sets the reported link type. The pcapng reader reads it only
		// with the first packet: look at the block after the section
		// header (checked by the guard once it is buffered).
		if h, err := fl.pbr.Peek(12); err == nil && fl.guard.first.Uint32(h) == ngInterface {
			fl.link = ngLink(uint8(fl.guard.first.Uint16(h[8:])))
			if _, err := NewDecoder(fl.link); err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
		}
	}
	return fl, nil
}

// ngLink widens a pcapng interface's link type, which gopacket truncates to
// 8 bits: 20 (276 & 0xff, unassigned otherwise) is read as LINUX_SLL2.
func ngLink(lt uint8) LinkType {
	if lt == uint8(LinkSLL2&0xff) {
		return LinkSLL2
	}
	return LinkType(lt)
}

// offset is the byte offset of the next unread byte.
func (fl *File) offset() int64 {
	o := fl.cr.n - int64(fl.br.Buffered())
	if fl.pbr != nil {
		o -= int64(fl.pbr.Buffered())
	}
	return o
}

// readerLen is how many bytes r holds from where it stands, 0 when that is
// unknown: the rest of a regular file, or of an in-memory reader.
func readerLen(r io.Reader) int64 {
	switch r := r.(type) {
	case *os.File:
		st, err := r.Stat()
		if err != nil || !st.Mode().IsRegular() {
			return 0
		}
		at, err := r.Seek(0, io.SeekCurrent)
		if err != nil || at > st.Size() {
			return 0
		}
		return st.Size() - at
	case interface{ Len() int }: // bytes.Reader, strings.Reader, bytes.Buffer
		return int64(r.Len())
	}
	return 0
}

// Path returns the file name given to OpenFile.
func (fl *File) Path() string { return fl.path }

// Size returns the file size in bytes (0 when unknown).
func (fl *File) Size() int64 { return fl.size }

// Offset returns how many bytes of the file were consumed.
func (fl *File) Offset() int64 { return fl.offset() }

// LinkType returns the link type (of the first interface for pcapng).
func (fl *File) LinkType() LinkType { return fl.link }

// Packets returns how many packets were read.
func (fl *File) Packets() uint64 { return fl.packets }

// Close closes the file when OpenFile opened it.
func (fl *File) Close() error {
	if fl.f != nil {
		return fl.f.Close()
	}
	return nil
}

// ReadRaw returns the next packet's bytes (valid until the next call) and
// capture info. It returns io.EOF at the end, or a *FileError.
func (fl *File) ReadRaw() ([]byte, gopacket.CaptureInfo, LinkType, error) {
	start := fl.offset()
	if err := fl.checkRecord(start); err != nil {
		return nil, gopacket.CaptureInfo{}, 0, &FileError{Path: fl.path, Offset: start, Packets: fl.packets, Err: err}
	}
	data, ci, err := fl.safeRead()
	if err != nil {
		if g := fl.guard; g != nil && g.err != nil {
			// The guard stopped the stream: at the end of the file
			// between two blocks, or at a damaged block.
			if g.ended {
				return nil, ci, 0, io.EOF
			}
			return nil, ci, 0, &FileError{Path: fl.path, Offset: g.errAt, Packets: fl.packets, Err: g.err}
		}
		if errors.Is(err, io.EOF) && fl.offset() == start {
			return nil, ci, 0, io.EOF
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			err = fmt.Errorf("file ends in the middle of a record: %w", io.ErrUnexpectedEOF)
		}
		return nil, ci, 0, &FileError{Path: fl.path, Offset: start, Packets: fl.packets, Err: err}
	}
	fl.packets++
	link := fl.link
	if fl.ng != nil {
		if ifc, err := fl.ng.Interface(ci.InterfaceIndex); err == nil {
			link = ngLink(uint8(ifc.LinkType))
		}
		ci.AncillaryData = nil
	}
	return data, ci, link, nil
}

// safeRead calls the gopacket reader, turning its panics on damaged
// input (seen in the pcapng reader) into errors.
func (fl *File) safeRead() (data []byte, ci gopacket.CaptureInfo, err error) {
	defer func() {
		if r := recover(); r != nil {
			data, err = nil, fmt.Errorf("damaged record (reader failed: %v)", r)
		}
	}()
	return fl.r.ZeroCopyReadPacketData()
}

// Next reads and decodes the next packet into m. It returns io.EOF at the
// end of the file, or a *FileError (wrapping ErrCorrupt) for a damaged or
// truncated file; the packets before it were valid. A packet of an
// unsupported link type (pcapng with mixed interfaces) is returned with
// FlagNonIP.
func (fl *File) Next(m *Meta) error {
	data, ci, link, err := fl.ReadRaw()
	if err != nil {
		return err
	}
	d := fl.dec
	if d == nil || d.link != link {
		d = fl.decs[link]
		if d == nil {
			if d, err = NewDecoder(link); err != nil {
				*m = Meta{Flags: FlagNonIP, WireLength: ci.Length, CaptureLength: ci.CaptureLength}
				m.Time = ci.Timestamp
				return nil
			}
			fl.decs[link] = d
		}
		fl.dec = d
	}
	d.Decode(data, &ci, m)
	return nil
}

// checkRecord checks the next record header of an uncompressed pcap file
// against the bytes left in the file before the reader allocates for it.
// (The reader itself refuses a captured length above the snap length,
// which is at most maxSnap.)
func (fl *File) checkRecord(start int64) error {
	if fl.pcapOrder == nil || fl.avail == 0 {
		return nil
	}
	h, err := fl.br.Peek(16)
	if err != nil {
		return nil // the end of the file, or a cut header: the reader reports it
	}
	captured := fl.pcapOrder.Uint32(h[8:])
	if left := fl.avail - start - 16; captured <= fl.snap && int64(captured) > left {
		return fmt.Errorf("file ends in the middle of a record (of %d captured bytes, %d are present): %w", captured, max(left, 0), io.ErrUnexpectedEOF)
	}
	return nil
}

func safeNgReader(r io.Reader) (ng *pcapgo.NgReader, err error) {
	defer func() {
		if p := recover(); p != nil {
			ng, err = nil, fmt.Errorf("damaged header (reader failed: %v)", p)
		}
	}()
	return pcapgo.NewNgReader(r, pcapgo.NgReaderOptions{WantMixedLinkType: true})
}
