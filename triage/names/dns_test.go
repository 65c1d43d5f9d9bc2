package names

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/dns/dnsmessage"
)

// rr is one answer record of a fixture: an A/AAAA (addr set), a CNAME
// (target set), or another type (typ set).
type rr struct {
	owner  string
	ttl    uint32
	addr   string
	target string
	typ    dnsmessage.Type
	class  dnsmessage.Class
}

// resp is a fixture message built with dnsmessage, compressed as servers
// do unless plain is set.
type resp struct {
	hdr     dnsmessage.Header
	qname   string
	qtype   dnsmessage.Type
	qclass  dnsmessage.Class
	answers []rr
	extra   []rr // additional section
	plain   bool
}

func name(s string) dnsmessage.Name { return dnsmessage.MustNewName(s) }

// build packs r into wire bytes.
func (r resp) build(t testing.TB) []byte {
	t.Helper()
	hdr := r.hdr
	if hdr == (dnsmessage.Header{}) {
		hdr = dnsmessage.Header{ID: 0x4d2, Response: true, RecursionDesired: true, RecursionAvailable: true}
	}
	b := dnsmessage.NewBuilder(make([]byte, 0, 512), hdr)
	if !r.plain {
		b.EnableCompression()
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(b.StartQuestions())
	qt, qc := r.qtype, r.qclass
	if qt == 0 {
		qt = dnsmessage.TypeA
	}
	if qc == 0 {
		qc = dnsmessage.ClassINET
	}
	must(b.Question(dnsmessage.Question{Name: name(r.qname), Type: qt, Class: qc}))
	add := func(x rr) {
		class := x.class
		if class == 0 {
			class = dnsmessage.ClassINET
		}
		h := dnsmessage.ResourceHeader{Name: name(x.owner), Class: class, TTL: x.ttl}
		switch {
		case x.target != "":
			must(b.CNAMEResource(h, dnsmessage.CNAMEResource{CNAME: name(x.target)}))
		case x.typ == dnsmessage.TypeTXT:
			must(b.TXTResource(h, dnsmessage.TXTResource{TXT: []string{"v=spf1 -all"}}))
		case x.typ == dnsmessage.TypeMX:
			must(b.MXResource(h, dnsmessage.MXResource{Pref: 10, MX: name("mx." + x.owner)}))
		default:
			a := netip.MustParseAddr(x.addr)
			if a.Is4() {
				must(b.AResource(h, dnsmessage.AResource{A: a.As4()}))
			} else {
				must(b.AAAAResource(h, dnsmessage.AAAAResource{AAAA: a.As16()}))
			}
		}
	}
	must(b.StartAnswers())
	for _, x := range r.answers {
		add(x)
	}
	must(b.StartAdditionals())
	for _, x := range r.extra {
		add(x)
	}
	msg, err := b.Finish()
	must(err)
	return msg
}

func ans(name, via, addr string, ttl uint32) Answer {
	return Answer{Name: name, Via: via, Addr: netip.MustParseAddr(addr), TTL: ttl}
}

// capturedResponse is a response as a recursive resolver sends it, bytes
// as captured: www.example.com A? answered by a CNAME to
// www.example.com.cdn.example.net, that name's CNAME to
// edge-7.cdn.example.net (its suffix compressed), two A records of the
// edge, and an EDNS OPT record in the additional section.
var capturedResponse = []byte{
	// 0: id 0x9a3c, flags QR RD RA NOERROR, 1 question, 4 answers, 0 authority, 1 additional
	0x9a, 0x3c, 0x81, 0x80, 0x00, 0x01, 0x00, 0x04, 0x00, 0x00, 0x00, 0x01,
	// 12: www.example.com A IN
	0x03, 'w', 'w', 'w', 0x07, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0x03, 'c', 'o', 'm', 0x00, 0x00, 0x01, 0x00, 0x01,
	// 33: @12 CNAME IN ttl 3600, 33 bytes: www.example.com.cdn.example.net (at 45; "cdn" at 61)
	0xc0, 0x0c, 0x00, 0x05, 0x00, 0x01, 0x00, 0x00, 0x0e, 0x10, 0x00, 0x21,
	0x03, 'w', 'w', 'w', 0x07, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0x03, 'c', 'o', 'm',
	0x03, 'c', 'd', 'n', 0x07, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0x03, 'n', 'e', 't', 0x00,
	// 78: @45 CNAME IN ttl 300, 9 bytes: edge-7 @61 (at 90)
	0xc0, 0x2d, 0x00, 0x05, 0x00, 0x01, 0x00, 0x00, 0x01, 0x2c, 0x00, 0x09,
	0x06, 'e', 'd', 'g', 'e', '-', '7', 0xc0, 0x3d,
	// 99: @90 A IN ttl 20 198.18.7.1
	0xc0, 0x5a, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x14, 0x00, 0x04, 198, 18, 7, 1,
	// 115: @90 A IN ttl 20 198.18.7.2
	0xc0, 0x5a, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x14, 0x00, 0x04, 198, 18, 7, 2,
	// 131: root OPT, UDP size 1232, no options
	0x00, 0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
}

func TestParseDNSCaptured(t *testing.T) {
	// Cross-check the fixture with dnsmessage first.
	var p dnsmessage.Parser
	if _, err := p.Start(capturedResponse); err != nil {
		t.Fatal(err)
	}
	if err := p.SkipAllQuestions(); err != nil {
		t.Fatal(err)
	}
	all, err := p.AllAnswers()
	if err != nil || len(all) != 4 {
		t.Fatalf("fixture: %d answers, %v", len(all), err)
	}
	if got := all[1].Body.(*dnsmessage.CNAMEResource).CNAME.String(); got != "edge-7.cdn.example.net." {
		t.Fatalf("fixture: second CNAME target %q", got)
	}
	got, err := ParseDNS(nil, capturedResponse, false)
	if err != nil {
		t.Fatal(err)
	}
	want := []Answer{
		ans("www.example.com", "edge-7.cdn.example.net", "198.18.7.1", 20),
		ans("www.example.com", "edge-7.cdn.example.net", "198.18.7.2", 20),
	}
	if d := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); d != "" {
		t.Errorf("ParseDNS (-want +got):\n%s", d)
	}
}

func TestParseDNS(t *testing.T) {
	const q = "www.example.com."
	tests := []struct {
		name string
		msg  resp
		want []Answer
	}{{
		name: "one A",
		msg:  resp{qname: q, answers: []rr{{owner: q, ttl: 300, addr: "198.18.0.10"}}},
		want: []Answer{ans("www.example.com", "", "198.18.0.10", 300)},
	}, {
		name: "several A",
		msg: resp{qname: q, answers: []rr{
			{owner: q, ttl: 60, addr: "198.18.0.10"}, {owner: q, ttl: 50, addr: "198.18.0.11"}, {owner: q, ttl: 60, addr: "198.18.0.12"}}},
		want: []Answer{ans("www.example.com", "", "198.18.0.10", 60), ans("www.example.com", "", "198.18.0.11", 50), ans("www.example.com", "", "198.18.0.12", 60)},
	}, {
		name: "AAAA",
		msg: resp{qname: q, qtype: dnsmessage.TypeAAAA, answers: []rr{
			{owner: q, ttl: 300, addr: "fd00:198:18::10"}, {owner: q, ttl: 300, addr: "fd00:198:18::11"}}},
		want: []Answer{ans("www.example.com", "", "fd00:198:18::10", 300), ans("www.example.com", "", "fd00:198:18::11", 300)},
	}, {
		name: "CNAME chain, smallest TTL along it",
		msg: resp{qname: q, answers: []rr{
			{owner: q, ttl: 3600, target: "www.example.com.cdn.example.net."},
			{owner: "www.example.com.cdn.example.net.", ttl: 120, target: "edge.example.net."},
			{owner: "edge.example.net.", ttl: 300, addr: "198.18.1.1"},
			{owner: "edge.example.net.", ttl: 20, addr: "198.18.1.2"}}},
		want: []Answer{ans("www.example.com", "edge.example.net", "198.18.1.1", 120), ans("www.example.com", "edge.example.net", "198.18.1.2", 20)},
	}, {
		name: "chain out of order, uncompressed",
		msg: resp{plain: true, qname: q, answers: []rr{
			{owner: "edge.example.net.", ttl: 30, addr: "198.18.1.1"},
			{owner: "mid.example.net.", ttl: 60, target: "edge.example.net."},
			{owner: q, ttl: 90, target: "mid.example.net."}}},
		want: []Answer{ans("www.example.com", "edge.example.net", "198.18.1.1", 30)},
	}, {
		name: "addresses at every step of the chain",
		msg: resp{qname: q, answers: []rr{
			{owner: q, ttl: 90, addr: "198.18.2.1"},
			{owner: q, ttl: 60, target: "mid.example.net."},
			{owner: "mid.example.net.", ttl: 90, addr: "198.18.2.2"}}},
		want: []Answer{ans("www.example.com", "", "198.18.2.1", 90), ans("www.example.com", "mid.example.net", "198.18.2.2", 60)},
	}, {
		name: "case folded",
		msg: resp{qname: "WWW.Example.COM.", answers: []rr{
			{owner: "www.EXAMPLE.com.", ttl: 10, target: "Edge.Example.NET."},
			{owner: "EDGE.example.net.", ttl: 10, addr: "198.18.1.1"}}},
		want: []Answer{ans("www.example.com", "edge.example.net", "198.18.1.1", 10)},
	}, {
		name: "underscore and wildcard labels",
		msg:  resp{qname: "_svc._tcp.example.com.", answers: []rr{{owner: "_svc._tcp.example.com.", ttl: 5, target: "*.example.com."}, {owner: "*.example.com.", ttl: 5, addr: "198.18.0.5"}}},
		want: []Answer{ans("_svc._tcp.example.com", "*.example.com", "198.18.0.5", 5)},
	}, {
		name: "records off the chain and other types skipped",
		msg: resp{qname: q, answers: []rr{
			{owner: "other.example.com.", ttl: 60, addr: "198.18.9.9"},
			{owner: q, ttl: 60, typ: dnsmessage.TypeTXT},
			{owner: q, ttl: 60, typ: dnsmessage.TypeMX},
			{owner: q, ttl: 60, addr: "198.18.0.1"},
			{owner: q, ttl: 60, addr: "198.18.0.2", class: dnsmessage.ClassCHAOS}},
			extra: []rr{{owner: q, ttl: 60, addr: "198.18.9.8"}}},
		want: []Answer{ans("www.example.com", "", "198.18.0.1", 60)},
	}, {
		name: "CNAME loop ends",
		msg: resp{qname: "a.example.com.", answers: []rr{
			{owner: "a.example.com.", ttl: 60, target: "b.example.com."},
			{owner: "b.example.com.", ttl: 60, target: "a.example.com."},
			{owner: "a.example.com.", ttl: 60, addr: "198.18.0.1"}}},
		want: []Answer{ans("a.example.com", "", "198.18.0.1", 60)},
	}, {
		name: "TTL with the top bit set counts as 0",
		msg:  resp{qname: q, answers: []rr{{owner: q, ttl: 0x80000001, addr: "198.18.0.1"}}},
		want: []Answer{ans("www.example.com", "", "198.18.0.1", 0)},
	}, {
		name: "query skipped",
		msg:  resp{hdr: dnsmessage.Header{ID: 1, RecursionDesired: true}, qname: q, answers: []rr{{owner: q, ttl: 1, addr: "198.18.0.1"}}},
	}, {
		name: "NXDOMAIN skipped",
		msg:  resp{hdr: dnsmessage.Header{ID: 1, Response: true, RCode: dnsmessage.RCodeNameError}, qname: q, answers: []rr{{owner: q, ttl: 1, addr: "198.18.0.1"}}},
	}, {
		name: "other opcode skipped",
		msg:  resp{hdr: dnsmessage.Header{ID: 1, Response: true, OpCode: 5}, qname: q, answers: []rr{{owner: q, ttl: 1, addr: "198.18.0.1"}}},
	}, {
		name: "CHAOS question skipped",
		msg:  resp{qname: "version.bind.", qclass: dnsmessage.ClassCHAOS, answers: []rr{{owner: "version.bind.", ttl: 1, addr: "198.18.0.1"}}},
	}, {
		name: "no answers",
		msg:  resp{qname: q},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := tt.msg.build(t)
			got, err := ParseDNS(nil, msg, false)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); d != "" {
				t.Errorf("ParseDNS (-want +got):\n%s", d)
			}
			// The same message over TCP gives the same answers.
			tcp := binary.BigEndian.AppendUint16(nil, uint16(len(msg)))
			got2, err := ParseDNS(nil, append(tcp, msg...), true)
			if err != nil || len(got2) != len(got) {
				t.Errorf("over TCP: %d answers, %v; want %d", len(got2), err, len(got))
			}
		})
	}
}

func TestParseDNSAppends(t *testing.T) {
	msg := resp{qname: "a.example.com.", answers: []rr{{owner: "a.example.com.", ttl: 60, addr: "198.18.0.1"}}}.build(t)
	dst := []Answer{ans("kept.example.com", "", "198.18.0.9", 1)}
	dst, err := ParseDNS(dst, msg, false)
	if err != nil || len(dst) != 2 || dst[0].Name != "kept.example.com" || dst[1].Name != "a.example.com" {
		t.Fatalf("got %+v, %v", dst, err)
	}
	// A malformed message leaves dst as it was.
	dst, err = ParseDNS(dst, msg[:len(msg)-1], false)
	if !errors.Is(err, ErrMalformed) || len(dst) != 2 {
		t.Fatalf("cut message: %d answers, %v", len(dst), err)
	}
}

func TestParseDNSTCP(t *testing.T) {
	m1 := resp{qname: "a.example.com.", answers: []rr{{owner: "a.example.com.", ttl: 60, addr: "198.18.0.1"}}}.build(t)
	m2 := resp{qname: "b.example.com.", qtype: dnsmessage.TypeAAAA, answers: []rr{{owner: "b.example.com.", ttl: 60, addr: "fd00:198:18::2"}}}.build(t)
	m3 := resp{qname: "c.example.com.", answers: []rr{{owner: "c.example.com.", ttl: 60, addr: "198.18.0.3"}}}.build(t)
	frame := func(ms ...[]byte) []byte {
		var b []byte
		for _, m := range ms {
			b = binary.BigEndian.AppendUint16(b, uint16(len(m)))
			b = append(b, m...)
		}
		return b
	}
	seg := frame(m1, m2, m3)
	// Cut the third message at every length: the two complete ones are
	// parsed, the cut one ignored without error.
	for cut := len(frame(m1, m2)); cut < len(seg); cut++ {
		got, err := ParseDNS(nil, seg[:cut], true)
		if err != nil || len(got) != 2 || got[0].Name != "a.example.com" || got[1].Name != "b.example.com" {
			t.Fatalf("cut at %d: %+v, %v", cut, got, err)
		}
	}
	got, err := ParseDNS(nil, seg, true)
	if err != nil || len(got) != 3 || got[2].Addr != netip.MustParseAddr("198.18.0.3") {
		t.Fatalf("whole segment: %+v, %v", got, err)
	}
	// A malformed message in the middle: its neighbours still count, and
	// the error is returned.
	bad := append([]byte(nil), m2...)
	binary.BigEndian.PutUint16(bad[6:], 9) // nine answers, one present
	got, err = ParseDNS(nil, frame(m1, bad, m3), true)
	if !errors.Is(err, ErrMalformed) || len(got) != 2 || got[1].Name != "c.example.com" {
		t.Fatalf("malformed middle message: %+v, %v", got, err)
	}
	// No length prefix, or a lone byte: nothing.
	for _, b := range [][]byte{nil, {0}} {
		if got, err := ParseDNS(nil, b, true); err != nil || len(got) != 0 {
			t.Errorf("ParseDNS(%x, tcp): %v, %v", b, got, err)
		}
	}
}

func TestParseDNSTruncatedResponse(t *testing.T) {
	r := resp{hdr: dnsmessage.Header{ID: 7, Response: true, Truncated: true}, qname: "a.example.com.", answers: []rr{
		{owner: "a.example.com.", ttl: 60, addr: "198.18.0.1"}, {owner: "a.example.com.", ttl: 60, addr: "198.18.0.2"}}}
	msg := r.build(t)
	// Cut inside the second record: the first is complete.
	got, err := ParseDNS(nil, msg[:len(msg)-3], false)
	if err != nil || len(got) != 1 || got[0].Addr != netip.MustParseAddr("198.18.0.1") {
		t.Fatalf("TC response cut in its second record: %+v, %v", got, err)
	}
	// Without TC the same cut is malformed.
	r.hdr.Truncated = false
	msg = r.build(t)
	if _, err := ParseDNS(nil, msg[:len(msg)-3], false); !errors.Is(err, ErrMalformed) {
		t.Fatalf("cut response without TC: %v", err)
	}
}

// wire helpers for hand-assembled hostile messages.

func header(flags uint16, qd, an uint16) []byte {
	b := make([]byte, 12)
	binary.BigEndian.PutUint16(b[0:], 0x1234)
	binary.BigEndian.PutUint16(b[2:], flags)
	binary.BigEndian.PutUint16(b[4:], qd)
	binary.BigEndian.PutUint16(b[6:], an)
	return b
}

const respFlags = 0x8180 // QR, RD, RA, NOERROR

// labels encodes dotted s as wire labels with the root, byte for byte.
func labels(s ...string) []byte {
	var b []byte
	for _, l := range s {
		b = append(b, byte(len(l)))
		b = append(b, l...)
	}
	return append(b, 0)
}

// question appends a question of type A, class IN.
func question(b, qname []byte) []byte {
	b = append(b, qname...)
	return append(b, 0, 1, 0, 1)
}

// arecord appends an A record with the given owner bytes.
func arecord(b, owner []byte, ttl uint32, a [4]byte) []byte {
	b = append(b, owner...)
	b = append(b, 0, 1, 0, 1)
	b = binary.BigEndian.AppendUint32(b, ttl)
	b = append(b, 0, 4)
	return append(b, a[:]...)
}

// cname appends a CNAME record.
func cname(b, owner, target []byte, ttl uint32) []byte {
	b = append(b, owner...)
	b = append(b, 0, 5, 0, 1)
	b = binary.BigEndian.AppendUint32(b, ttl)
	b = binary.BigEndian.AppendUint16(b, uint16(len(target)))
	return append(b, target...)
}

var ptrQ = []byte{0xc0, 0x0c} // the question's name

func TestParseDNSHostile(t *testing.T) {
	q := labels("www", "example", "com")
	okMsg := arecord(question(header(respFlags, 1, 1), q), ptrQ, 60, [4]byte{198, 18, 0, 1})
	long := func() []byte { // a name of 4 × 63-byte labels: 257 bytes on the wire
		l := string(make([]byte, 63))
		for i := range 63 {
			l = l[:i] + "a" + l[i+1:]
		}
		return labels(l, l, l, l)
	}
	// ptrChain: the question "a", then n names after it, each a label and
	// a pointer to the name before (the first to the question), inside
	// the data of an unknown record type, and an A record whose owner
	// points to the last: that owner follows n+1 pointers.
	ptrChain := func(n int) []byte {
		b := question(header(respFlags, 1, 2), labels("a"))
		b = append(b, 0xc0, 0x0c, 0x00, 0x63, 0x00, 0x01, 0, 0, 0, 60) // @12 type 99 IN ttl 60
		b = binary.BigEndian.AppendUint16(b, uint16(4*n))
		prev := 12
		for i := 0; i < n; i++ {
			at := len(b)
			b = append(b, 1, 'x', 0xc0|byte(prev>>8), byte(prev))
			prev = at
		}
		return arecord(b, []byte{0xc0 | byte(prev>>8), byte(prev)}, 60, [4]byte{198, 18, 0, 1})
	}
	tests := []struct {
		name string
		msg  []byte
		err  error // nil: no error and no answers
	}{
		{"empty", nil, errHeader},
		{"header cut", header(respFlags, 1, 1)[:11], errHeader},
		{"question cut", question(header(respFlags, 1, 1), q)[:20], errLabel},
		{"question type cut", question(header(respFlags, 1, 1), q)[:31], errCut},
		{"ANCOUNT 65535, no records", question(header(respFlags, 1, 65535), q), errCut},
		{"QDCOUNT 2", question(question(header(respFlags, 2, 0), q), q), errQuestions},
		{"QDCOUNT 65535", question(header(respFlags, 65535, 0), q), errQuestions},
		{"pointer to itself", append(header(respFlags, 1, 0), 0xc0, 0x0c, 0, 1, 0, 1), errPointer},
		{"forward pointer", append(header(respFlags, 1, 0), 0xc0, 0x0e, 0, 0, 1, 0, 1), errPointer},
		{"pointer into the header", append(header(respFlags, 1, 0), 0xc0, 0x02, 0, 1, 0, 1), errPointer},
		{"pointer loop through a forward pointer", arecord(question(header(respFlags, 1, 1), q), []byte{0xc0, 0x23}, 60, [4]byte{}), errPointer},
		{"pointer cut", append(header(respFlags, 1, 0), 0xc0), errCut},
		{"label past the end", append(header(respFlags, 1, 0), 63, 'a', 'b'), errLabel},
		{"label type 0x40", append(header(respFlags, 1, 0), 0x41, 'a', 0, 0, 1, 0, 1), errLabelType},
		{"label type 0x80", append(header(respFlags, 1, 0), 0x81, 'a', 0, 0, 1, 0, 1), errLabelType},
		{"name longer than 255 bytes", question(header(respFlags, 1, 0), long()), errLong},
		{"too many pointers", ptrChain(MaxPointers), errPointers},
		{"A of 5 bytes", append(okMsg[:len(okMsg)-6:len(okMsg)-6], 0, 5, 1, 2, 3, 4, 5), errRData},
		{"A data cut", okMsg[:len(okMsg)-1], errCut},
		{"record header cut", okMsg[:len(okMsg)-8], errCut},
		{"CNAME target past its data", cname(question(header(respFlags, 1, 1), q), ptrQ, labels("xxxxx")[:3], 60), errLabel},
		{"CNAME target without its root", cname(question(header(respFlags, 1, 1), q), ptrQ, labels("x")[:2], 60), errCut},
		{"CNAME target shorter than its data", cname(question(header(respFlags, 1, 1), q), ptrQ, append(labels("x"), 0), 60), errRData},
		{"root question", question(header(respFlags, 1, 1), []byte{0}), nil},
		{"no question", header(respFlags, 0, 5), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDNS(nil, tt.msg, false)
			if err != tt.err {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if err != nil && !errors.Is(err, ErrMalformed) {
				t.Errorf("%v is not ErrMalformed", err)
			}
			if len(got) != 0 {
				t.Errorf("answers %+v, want none", got)
			}
		})
	}
	// One pointer fewer than the cap is fine.
	if got, err := ParseDNS(nil, ptrChain(MaxPointers-1), false); err != nil || len(got) != 0 {
		t.Errorf("%d pointers: %v, %v (want no error, no answer: the owner is not the question)", MaxPointers-1, got, err)
	}
}

// TestParseDNSBounds checks the caps on records and on the chain.
func TestParseDNSBounds(t *testing.T) {
	// 200 A records, ANCOUNT 200: only MaxRecords are read.
	b := question(header(respFlags, 1, 200), labels("a", "example", "com"))
	for i := 0; i < 200; i++ {
		b = arecord(b, ptrQ, 60, [4]byte{198, 18, byte(i >> 8), byte(i)})
	}
	got, err := ParseDNS(nil, b, false)
	if err != nil || len(got) != MaxRecords {
		t.Errorf("200 A records: %d answers, %v; want %d", len(got), err, MaxRecords)
	}
	// ANCOUNT 65535 over 200 records and then nothing: the cap stops the
	// reading before the end.
	binary.BigEndian.PutUint16(b[6:], 65535)
	if got, err := ParseDNS(nil, b, false); err != nil || len(got) != MaxRecords {
		t.Errorf("ANCOUNT 65535 over 200 records: %d answers, %v", len(got), err)
	}

	// A chain one CNAME longer than MaxChain: the address is not reached;
	// at MaxChain it is.
	chainMsg := func(n int) []byte {
		r := resp{qname: "c0.example.com."}
		for i := 0; i < n; i++ {
			r.answers = append(r.answers, rr{owner: nm(i), ttl: 60, target: nm(i + 1)})
		}
		r.answers = append(r.answers, rr{owner: nm(n), ttl: 60, addr: "198.18.0.1"})
		return r.build(t)
	}
	if got, err := ParseDNS(nil, chainMsg(MaxChain), false); err != nil || len(got) != 1 || got[0].Via != "c16.example.com" {
		t.Errorf("chain of %d: %+v, %v", MaxChain, got, err)
	}
	if got, err := ParseDNS(nil, chainMsg(MaxChain+1), false); err != nil || len(got) != 0 {
		t.Errorf("chain of %d: %+v, %v", MaxChain+1, got, err)
	}
}

func nm(i int) string { return "c" + itoa(i) + ".example.com." }

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

// TestParseDNSRefused: names with bytes a name may not hold are refused;
// the answer comes with no name, and the cache counts it.
func TestParseDNSRefused(t *testing.T) {
	a := [4]byte{198, 18, 0, 1}
	tests := []struct {
		name string
		msg  []byte
	}{
		{"control character in the question", arecord(question(header(respFlags, 1, 1), labels("www\x1b[31m", "example", "com")), ptrQ, 60, a)},
		{"UTF-8 in the question", arecord(question(header(respFlags, 1, 1), labels("bücher", "example")), ptrQ, 60, a)},
		{"space in the question", arecord(question(header(respFlags, 1, 1), labels("a b", "example")), ptrQ, 60, a)},
		{"dot inside a label", arecord(question(header(respFlags, 1, 1), labels("evil.com", "example")), ptrQ, 60, a)},
		{"NUL in the question", arecord(question(header(respFlags, 1, 1), labels("a\x00", "example")), ptrQ, 60, a)},
		{"control character in the CNAME target", func() []byte {
			b := question(header(respFlags, 1, 2), labels("www", "example", "com"))
			at := len(b) + 12
			b = cname(b, ptrQ, labels("edge\x07", "example"), 60)
			return arecord(b, []byte{0xc0 | byte(at>>8), byte(at)}, 60, a)
		}()},
	}
	c := NewCache(8)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDNS(nil, tt.msg, false)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0].Name != "" || got[0].Via != "" || got[0].Addr != netip.AddrFrom4(a) {
				t.Fatalf("got %+v, want one refused answer", got)
			}
			before := c.Stats().Refused
			c.Add(got[0], t0)
			if s := c.Stats(); s.Refused != before+1 || s.Entries != 0 {
				t.Errorf("after Add: %+v, want one more refused, no entry", s)
			}
		})
	}
}

// TestParseDNSAllocs: a typical response allocates its two name strings
// (the question, the CNAME target) and nothing else.
func TestParseDNSAllocs(t *testing.T) {
	dst := make([]Answer, 0, 16)
	allocs := testing.AllocsPerRun(1000, func() {
		var err error
		dst, err = ParseDNS(dst[:0], capturedResponse, false)
		if err != nil || len(dst) != 2 {
			t.Fatal(len(dst), err)
		}
	})
	if allocs > 2 {
		t.Errorf("ParseDNS allocates %v times, want ≤ 2 (the names)", allocs)
	}
	q := resp{hdr: dnsmessage.Header{ID: 1, RecursionDesired: true}, qname: "a.example.com."}.build(t)
	hostile := question(header(respFlags, 1, 65535), labels("a"))
	for _, m := range [][]byte{q, hostile} {
		if allocs := testing.AllocsPerRun(1000, func() { dst, _ = ParseDNS(dst[:0], m, false) }); allocs != 0 {
			t.Errorf("ParseDNS(%x…) allocates %v times, want 0", m[:12], allocs)
		}
	}
}
