package names

import (
	"crypto/tls"
	"encoding/binary"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

// FuzzDNSAnswer feeds arbitrary bytes to ParseDNS, as a UDP and as a TCP
// payload: it must never panic, every answer has an address and either a
// valid name or none (refused), no message gives more than MaxRecords
// answers, and an error leaves dst as it came.
func FuzzDNSAnswer(f *testing.F) {
	f.Add(capturedResponse)
	q := labels("www", "example", "com")
	f.Add(arecord(question(header(respFlags, 1, 1), q), ptrQ, 60, [4]byte{198, 18, 0, 1}))
	f.Add(append(header(respFlags, 1, 0), 0xc0, 0x0c, 0, 1, 0, 1))
	f.Add(question(header(respFlags, 1, 65535), q))
	f.Add(arecord(question(header(respFlags, 1, 1), labels("a\x1b", "example")), ptrQ, 60, [4]byte{198, 18, 0, 1}))
	f.Add(resp{qname: "a.example.com.", qtype: dnsmessage.TypeAAAA, answers: []rr{
		{owner: "a.example.com.", ttl: 60, target: "b.example.net."},
		{owner: "b.example.net.", ttl: 60, target: "a.example.com."},
		{owner: "b.example.net.", ttl: 30, addr: "fd00:198:18::1"}}}.build(f))
	tcp := binary.BigEndian.AppendUint16(nil, uint16(len(capturedResponse)))
	tcp = append(tcp, capturedResponse...)
	f.Add(append(tcp, tcp[:40]...))
	sentinel := Answer{Name: "kept.example.com"}
	f.Fuzz(func(t *testing.T, msg []byte) {
		for _, overTCP := range []bool{false, true} {
			dst := []Answer{sentinel}
			got, err := ParseDNS(dst, msg, overTCP)
			if len(got) == 0 || got[0] != sentinel {
				t.Fatalf("dst's answers lost: %+v", got)
			}
			if !overTCP && err != nil && len(got) != 1 {
				t.Fatalf("error %v with %d answers", err, len(got)-1)
			}
			if !overTCP && len(got)-1 > MaxRecords {
				t.Fatalf("%d answers from one message", len(got)-1)
			}
			for _, a := range got[1:] {
				if !a.Addr.IsValid() || (a.Name != "" && !ValidName(a.Name)) || (a.Via != "" && !ValidName(a.Via)) || (a.Name == "" && a.Via != "") {
					t.Fatalf("bad answer %+v", a)
				}
			}
		}
	})
}

// FuzzClientHello feeds arbitrary payloads to ParseClientHello: it must
// never panic, a name it returns is valid, and it only answers payloads
// that LooksLikeClientHello accepts.
func FuzzClientHello(f *testing.F) {
	for _, tc := range helloCases() {
		h := clientHello(f, tc.cfg)
		f.Add(h)
		f.Add(h[:len(h)/2])
	}
	f.Add(helloWith(sniExt(sniEntry(0, "a\x1b.example.com"))))
	f.Add(helloWith(ext(23, nil), sniExt(sniEntry(7, "x"), sniEntry(0, "b.example.com"))))
	f.Add(clientHello(f, &tls.Config{ServerName: "x.example", MaxVersion: tls.VersionTLS12})[:60])
	f.Fuzz(func(t *testing.T, payload []byte) {
		sni, ok := ParseClientHello(payload)
		if sni != "" && (!ok || !ValidName(sni)) {
			t.Fatalf("ParseClientHello = %q, %v", sni, ok)
		}
		if ok && !LooksLikeClientHello(payload) {
			t.Fatal("a name from a payload LooksLikeClientHello refuses")
		}
	})
}
