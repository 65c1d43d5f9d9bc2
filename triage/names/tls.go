package names

import "encoding/binary"

// TLS field values.
const (
	recordHandshake    = 22
	handshakeHello     = 1
	extServerName      = 0
	sniHostName        = 0
	tlsRecordHeader    = 5
	tlsHandshakeHeader = 4
)

// LooksLikeClientHello is the cheap test the capture path runs first: a TLS
// handshake record (type 22) of version 3.x whose first handshake message
// is a ClientHello (type 1).
func LooksLikeClientHello(payload []byte) bool {
	return len(payload) > tlsRecordHeader &&
		payload[0] == recordHandshake && payload[1] == 3 && payload[5] == handshakeHello
}

// ParseClientHello returns the server_name extension's host_name of the
// TLS ClientHello at the start of a TCP payload (the first segment of a
// connection's client side), lower-cased, without a trailing dot.
//
// ok is false when the payload is not a ClientHello, when the hello has
// no server_name extension with a host_name, or when the bytes end before
// it. Only the first TLS record is read, and of it only the bytes this
// payload holds: a hello split over TCP segments is read up to the
// segment's end. The first segment usually holds the server name, but not
// always: a hello carrying a post-quantum key share (X25519MLKEM768, over
// 1,100 bytes) fills most of a segment, and a client that orders its
// extensions at random (Chrome does) puts the server name after it, in the
// second segment, in part of its connections. Those hellos give ok=false.
// Capture often sees such a hello whole all the same: before segmentation
// offload (GSO) on the host that sends it, after coalescing (GRO) on the
// one that receives it.
//
// A host_name that is not a ValidName once lower-cased (a control
// character, UTF-8, an empty label) gives ("", true): the hello had a
// server name and it is refused, which AddSNI counts. ParseClientHello
// never panics; its work is bounded by the record's length and it
// allocates only the name it returns.
func ParseClientHello(payload []byte) (sni string, ok bool) {
	if !LooksLikeClientHello(payload) {
		return "", false
	}
	// Read within the first record, as far as the payload goes.
	rec := int(binary.BigEndian.Uint16(payload[3:]))
	p := payload[tlsRecordHeader:min(len(payload), tlsRecordHeader+rec)]
	if len(p) < tlsHandshakeHeader {
		return "", false
	}
	hl := int(p[1])<<16 | int(p[2])<<8 | int(p[3])
	p = p[tlsHandshakeHeader:min(len(p), tlsHandshakeHeader+hl)]
	// client_version (2), random (32)
	c := cursor{b: p}
	c.skip(2 + 32)
	c.skip(int(c.u8()))         // session_id
	c.skip(int(c.u16()))        // cipher_suites
	c.skip(int(c.u8()))         // compression_methods
	ext := c.upTo(int(c.u16())) // the extensions this payload holds
	for !ext.bad && len(ext.b) >= 4 {
		typ := ext.u16()
		body := ext.sub(int(ext.u16()))
		if ext.bad {
			return "", false // the extension is cut
		}
		if typ != extServerName {
			continue
		}
		list := body.sub(int(body.u16()))
		for !list.bad && len(list.b) >= 3 {
			kind := list.u8()
			name := list.sub(int(list.u16()))
			if list.bad {
				return "", false
			}
			if kind != sniHostName {
				continue
			}
			s, _ := hostName(name.b) // "" when refused
			return s, true
		}
		return "", false // a server_name extension without a host_name
	}
	return "", false
}

// cursor reads big-endian fields from b; a read past the end sets bad and
// returns zeros from then on.
type cursor struct {
	b   []byte
	bad bool
}

func (c *cursor) u8() byte {
	if c.bad || len(c.b) < 1 {
		c.bad = true
		return 0
	}
	v := c.b[0]
	c.b = c.b[1:]
	return v
}

func (c *cursor) u16() uint16 {
	if c.bad || len(c.b) < 2 {
		c.bad = true
		return 0
	}
	v := binary.BigEndian.Uint16(c.b)
	c.b = c.b[2:]
	return v
}

func (c *cursor) skip(n int) {
	if c.bad || len(c.b) < n {
		c.bad = true
		c.b = nil
		return
	}
	c.b = c.b[n:]
}

// upTo returns the next n bytes, or as many as there are, as a cursor of
// their own.
func (c *cursor) upTo(n int) cursor {
	if c.bad {
		return cursor{bad: true}
	}
	n = min(n, len(c.b))
	s := cursor{b: c.b[:n]}
	c.b = c.b[n:]
	return s
}

// sub returns the next n bytes as a cursor of their own.
func (c *cursor) sub(n int) cursor {
	if c.bad || len(c.b) < n {
		c.bad = true
		c.b = nil
		return cursor{bad: true}
	}
	s := cursor{b: c.b[:n]}
	c.b = c.b[n:]
	return s
}
