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
	path    string
	f       *os.File
	size    int64
	cr      *countingReader
	br      *bufio.Reader
	r       zeroCopyReader
	ng      *pcapgo.NgReader
	link    LinkType
	dec     *Decoder
	decs    map[LinkType]*Decoder
	packets uint64
	// bigEndian is the pcapng section's byte order.
	bigEndian bool
}

// maxSnap bounds the per-packet buffer: larger records are errors.
const maxSnap = 1 << 20

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
	fl := &File{path: path, decs: map[LinkType]*Decoder{}}
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
	case binary.BigEndian.Uint32(head) == 0x0a0d0d0a:
		if h, err := fl.br.Peek(12); err == nil {
			fl.bigEndian = binary.BigEndian.Uint32(h[8:]) == 0x1a2b3c4d
			if n := binary.LittleEndian.Uint32(h[4:]); fl.bigEndian {
				n = binary.BigEndian.Uint32(h[4:])
				_ = n
			}
		}
		if err := fl.checkNgBlocks(); err != nil {
			return nil, &FileError{Path: path, Err: err}
		}
		ng, err := safeNgReader(fl.br)
		if err != nil {
			return nil, &FileError{Path: path, Offset: fl.offset(), Err: fmt.Errorf("pcapng header: %w", err)}
		}
		fl.r, fl.ng = ng, ng
	default:
		var link LinkType
		if h, err := fl.br.Peek(24); err == nil {
			switch binary.LittleEndian.Uint32(h) {
			case 0xa1b2c3d4, 0xa1b23c4d:
				link = LinkType(binary.LittleEndian.Uint32(h[20:]) & 0x0fffffff)
			case 0xd4c3b2a1, 0x4d3cb2a1:
				link = LinkType(binary.BigEndian.Uint32(h[20:]) & 0x0fffffff)
			}
		}
		pr, err := pcapgo.NewReader(fl.br)
		if err != nil {
			return nil, &FileError{Path: path, Offset: fl.offset(), Err: fmt.Errorf("not a pcap or pcapng file (%w)", err)}
		}
		if link == 0 {
			link = LinkType(pr.LinkType())
		}
		// The reader allocates one buffer of the snap length: bound it
		// (a damaged header could ask for 4 GiB).
		if sl := pr.Snaplen(); sl == 0 || sl > maxSnap {
			pr.SetSnaplen(maxSnap)
		}
		fl.r, fl.link = pr, link
		if fl.dec, err = NewDecoder(link); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	if fl.ng != nil {
		// Interfaces are announced before their packets; the first one
		// sets the reported link type.
		if fl.ng.NInterfaces() > 0 {
			ifc, _ := fl.ng.Interface(0)
			fl.link = ngLink(uint8(ifc.LinkType))
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
func (fl *File) offset() int64 { return fl.cr.n - int64(fl.br.Buffered()) }

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
	if fl.ng != nil {
		if err := fl.checkNgBlocks(); err != nil {
			return nil, gopacket.CaptureInfo{}, 0, &FileError{Path: fl.path, Offset: start, Packets: fl.packets, Err: err}
		}
	}
	data, ci, err := fl.safeRead()
	if err != nil {
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

// checkNgBlocks looks ahead at the buffered pcapng blocks up to the next
// packet and rejects lengths that would make the pcapng reader allocate
// absurd buffers (it trusts them). Blocks beyond the buffer are not checked.
func (fl *File) checkNgBlocks() error {
	pos := 0
	order := binary.ByteOrder(binary.LittleEndian)
	if fl.bigEndian {
		order = binary.BigEndian
	}
	for i := 0; i < 64; i++ {
		h, err := fl.br.Peek(pos + 28)
		if err != nil {
			return nil // end of data: the reader reports it
		}
		typ := order.Uint32(h[pos:])
		if typ == 0x0a0d0d0a { // section header: byte order may change
			if binary.BigEndian.Uint32(h[pos+8:]) == 0x1a2b3c4d {
				order, fl.bigEndian = binary.BigEndian, true
			} else {
				order, fl.bigEndian = binary.LittleEndian, false
			}
		}
		n := order.Uint32(h[pos+4:])
		if n < 12 || n > maxSnap+64 || n%4 != 0 {
			return fmt.Errorf("pcapng block of type %#x has an impossible length %d", typ, n)
		}
		switch typ {
		case 1: // interface description: snap length
			if sl := order.Uint32(h[pos+12:]); sl > maxSnap {
				return fmt.Errorf("pcapng interface snap length %d is larger than %d", sl, maxSnap)
			}
		case 6, 2: // enhanced packet, obsolete packet: captured length
			if cl := order.Uint32(h[pos+20:]); cl > n {
				return fmt.Errorf("pcapng packet captured length %d exceeds its block length %d", cl, n)
			}
			return nil
		case 3:
			return nil
		}
		pos += int(n)
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
