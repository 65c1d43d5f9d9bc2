package names

import (
	"encoding/binary"
	"errors"
	"hash/maphash"
	"math"
	"net/netip"
)

// Bounds of a message.
const (
	// MaxRecords is how many answer records ParseDNS reads of one
	// message; a larger ANCOUNT is not believed.
	MaxRecords = 64
	// MaxChain is how many CNAME records ParseDNS follows from the
	// question.
	MaxChain  = 16
	headerLen = 12
)

// DNS field values.
const (
	typeA     = 1
	typeCNAME = 5
	typeAAAA  = 28
	classIN   = 1
)

// Answer is one address a DNS response gave for a queried name.
type Answer struct {
	// Name is the name the client asked for (the question), lower-case,
	// no trailing dot, of a-z, 0-9, '.', '-', '_' and '*' only. It is ""
	// when a name on the way to Addr (the question or a CNAME target)
	// held any other byte: the record is refused, and Cache.Add counts it.
	Name string
	// Via is the last CNAME target that led to Addr (the owner of the A or
	// AAAA record), "" when that owner is the question itself.
	Via string
	// Addr is the A or AAAA address.
	Addr netip.Addr
	// TTL is the smallest TTL along the chain, in seconds (a TTL with its
	// top bit set counts as 0, RFC 2181 §8).
	TTL uint32
}

// ErrMalformed is what every error of ParseDNS satisfies (errors.Is).
var ErrMalformed = errors.New("malformed DNS message")

// parseError is one reason a message is malformed; the values are
// preallocated so that a flood of bad messages allocates nothing.
type parseError struct{ what string }

func (e *parseError) Error() string        { return "malformed DNS message: " + e.what }
func (e *parseError) Is(target error) bool { return target == ErrMalformed }

var (
	errHeader    = &parseError{"shorter than its header"}
	errCut       = &parseError{"cut inside a name or record"}
	errLabel     = &parseError{"label runs past the end"}
	errLabelType = &parseError{"reserved label type"}
	errLong      = &parseError{"name longer than 255 bytes"}
	errPointer   = &parseError{"compression pointer not backwards"}
	errPointers  = &parseError{"too many compression pointers in a name"}
	errQuestions = &parseError{"more than one question"}
	errRData     = &parseError{"record data of the wrong length"}
)

// seed keys the hashes ParseDNS compares names by; a hash match is checked
// against the names themselves.
var seed = maphash.MakeSeed()

// record is one A, AAAA or CNAME record of the answer section.
type record struct {
	ownerHash  uint64
	targetHash uint64 // CNAME
	owner      int32  // offset of the owner name
	rdata      int32  // offset of the address or the CNAME target
	ttl        uint32
	typ        uint16
	ownerClean bool
	// targetClean: the CNAME target holds only name bytes.
	targetClean bool
	used        bool
}

// ParseDNS parses one DNS message and appends the A and AAAA answers of a
// response to dst, following CNAME chains from the question, with the
// question as each answer's Name.
//
// With tcp false, msg is a UDP payload: one message. With tcp true, msg is
// a TCP payload that starts at a message boundary: messages each behind a
// 2-byte length, the complete ones parsed, a last one cut by the segment
// ignored (it is no error).
//
// Used: responses (QR=1) of opcode QUERY with RCODE 0 and one question of
// class IN; queries, other opcodes and rcodes, other classes and record
// types are skipped without error. A truncated response (TC=1) gives the
// answers that are complete. Of the answer section, at most MaxRecords
// records are read and at most MaxChain CNAMEs followed; each record is
// used once, so a CNAME loop ends.
//
// A malformed message returns an error satisfying errors.Is(err,
// ErrMalformed), and none of its answers: dst keeps what it had, plus the
// answers of the complete messages of a TCP payload (parsing goes on after
// a malformed one, whose length prefix still frames it; the first error is
// returned). ParseDNS never panics; see the package documentation for its
// bounds and what it allocates.
func ParseDNS(dst []Answer, msg []byte, tcp bool) ([]Answer, error) {
	if !tcp {
		return parseMessage(dst, msg)
	}
	var first error
	for len(msg) >= 2 {
		l := int(binary.BigEndian.Uint16(msg))
		if len(msg)-2 < l {
			break // cut by the segment
		}
		var err error
		dst, err = parseMessage(dst, msg[2:2+l])
		if err != nil && first == nil {
			first = err
		}
		msg = msg[2+l:]
	}
	return dst, first
}

// parseMessage parses one message; on error dst is returned as it came.
func parseMessage(dst []Answer, msg []byte) ([]Answer, error) {
	if len(msg) < headerLen {
		return dst, errHeader
	}
	flags := binary.BigEndian.Uint16(msg[2:])
	const (
		qr     = 1 << 15
		opcode = 0xF << 11
		tc     = 1 << 9
		rcode  = 0xF
	)
	if flags&qr == 0 || flags&opcode != 0 || flags&rcode != 0 {
		return dst, nil
	}
	truncated := flags&tc != 0
	qd := binary.BigEndian.Uint16(msg[4:])
	an := int(binary.BigEndian.Uint16(msg[6:]))
	switch {
	case qd == 0:
		return dst, nil // nothing asked: no name to give
	case qd > 1:
		return dst, errQuestions
	}

	var qbuf, buf nameBuf
	qname := headerLen
	off, qn, qclean, err := readName(msg, qname, &qbuf)
	if err != nil {
		return dst, err
	}
	if off+4 > len(msg) {
		return dst, errCut
	}
	if binary.BigEndian.Uint16(msg[off+2:]) != classIN || qn == 0 {
		return dst, nil // another class, or the root
	}
	qhash := maphash.Bytes(seed, qbuf[:qn])
	off += 4

	var rrs [MaxRecords]record
	nr := 0
	for i := 0; i < an && i < MaxRecords; i++ {
		r, next, err := readRecord(msg, off, &buf)
		if err != nil {
			if truncated && (err == errCut || err == errLabel) {
				break
			}
			return dst, err
		}
		off = next
		if r.typ != 0 {
			rrs[nr] = r
			nr++
		}
	}
	return chain(dst, msg, rrs[:nr], qname, qbuf[:qn], qhash, qclean), nil
}

// readRecord reads the resource record at off. It returns the record, with
// typ 0 when it is not an A, AAAA or CNAME of class IN, and the offset of
// the next one.
func readRecord(msg []byte, off int, buf *nameBuf) (record, int, error) {
	next, n, clean, err := readName(msg, off, buf)
	if err != nil {
		return record{}, 0, err
	}
	if next+10 > len(msg) {
		return record{}, 0, errCut
	}
	typ := binary.BigEndian.Uint16(msg[next:])
	class := binary.BigEndian.Uint16(msg[next+2:])
	ttl := binary.BigEndian.Uint32(msg[next+4:])
	rdlen := int(binary.BigEndian.Uint16(msg[next+8:]))
	rdata := next + 10
	end := rdata + rdlen
	if end > len(msg) {
		return record{}, 0, errCut
	}
	if class != classIN || (typ != typeA && typ != typeAAAA && typ != typeCNAME) {
		return record{}, end, nil
	}
	if ttl > math.MaxInt32 {
		ttl = 0
	}
	r := record{ownerHash: maphash.Bytes(seed, buf[:n]), ownerClean: clean,
		owner: int32(off), rdata: int32(rdata), ttl: ttl, typ: typ}
	switch typ {
	case typeA:
		if rdlen != 4 {
			return record{}, 0, errRData
		}
	case typeAAAA:
		if rdlen != 16 {
			return record{}, 0, errRData
		}
	case typeCNAME:
		// The target is read within the record's data only.
		tnext, tn, tclean, err := readName(msg[:end], rdata, buf)
		if err != nil {
			return record{}, 0, err
		}
		if tnext != end {
			return record{}, 0, errRData
		}
		r.targetHash = maphash.Bytes(seed, buf[:tn])
		r.targetClean = tclean
	}
	return r, end, nil
}

// chain appends the answers reached from the question: the A and AAAA
// records owned by the current name, then the current name's CNAME target,
// at most MaxChain times.
func chain(dst []Answer, msg []byte, rrs []record, qname int, qtext []byte, qhash uint64, qclean bool) []Answer {
	var name, via string // made on first use
	// The current name: its offset, hash, and whether it is clean itself;
	// clean is whether every name so far on the chain is.
	cur, curHash, curClean := qname, qhash, qclean
	clean := qclean
	ttl := uint32(math.MaxUint32)
	for depth := 0; depth <= MaxChain; depth++ {
		viaMade := depth == 0
		for i := range rrs {
			r := &rrs[i]
			if r.used || r.typ == typeCNAME || !sameName(msg, r, cur, curHash, curClean) {
				continue
			}
			r.used = true
			a := Answer{TTL: min(ttl, r.ttl)}
			if r.typ == typeA {
				a.Addr = netip.AddrFrom4([4]byte(msg[r.rdata : r.rdata+4]))
			} else {
				a.Addr = netip.AddrFrom16([16]byte(msg[r.rdata : r.rdata+16]))
			}
			if clean {
				if name == "" {
					name = string(qtext)
				}
				if !viaMade {
					via = nameAt(msg, cur)
					viaMade = true
				}
				a.Name = name
				if depth > 0 {
					a.Via = via
				}
			}
			dst = append(dst, a)
		}
		if depth == MaxChain {
			break
		}
		next := -1
		for i := range rrs {
			r := &rrs[i]
			if !r.used && r.typ == typeCNAME && sameName(msg, r, cur, curHash, curClean) {
				next = i
				break
			}
		}
		if next < 0 {
			break
		}
		r := &rrs[next]
		r.used = true
		ttl = min(ttl, r.ttl)
		cur, curHash, curClean = int(r.rdata), r.targetHash, r.targetClean
		clean = clean && curClean
	}
	return dst
}

// sameName reports whether r's owner is the name at cur, whose hash and
// cleanliness are given: by hash first, then by where the two names' bytes
// start once leading pointers are followed (a compressed owner points at
// the target it is named after), then by their text.
func sameName(msg []byte, r *record, cur int, curHash uint64, curClean bool) bool {
	if r.ownerHash != curHash || r.ownerClean != curClean {
		return false
	}
	if start(msg, int(r.owner)) == start(msg, cur) {
		return true
	}
	var a, b nameBuf
	_, na, _, _ := readName(msg, int(r.owner), &a)
	_, nb, _, _ := readName(msg, cur, &b)
	return string(a[:na]) == string(b[:nb])
}

// start follows the pointers a name read before begins with and returns
// the offset of its first label.
func start(msg []byte, off int) int {
	for range MaxPointers {
		if msg[off]&0xC0 != 0xC0 {
			break
		}
		off = int(msg[off]&0x3F)<<8 | int(msg[off+1])
	}
	return off
}

// nameAt returns the (already checked, clean) name at off as a string.
func nameAt(msg []byte, off int) string {
	var buf nameBuf
	_, n, _, _ := readName(msg, off, &buf)
	return string(buf[:n])
}
