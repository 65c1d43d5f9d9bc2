package names

import (
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"net"
	"testing"
	"time"
)

// helloConn is a net.Conn that keeps what the client writes and fails its
// first read, so a handshake stops after sending the ClientHello.
type helloConn struct{ out bytes.Buffer }

var errNoServer = errors.New("no server")

func (c *helloConn) Read([]byte) (int, error)         { return 0, errNoServer }
func (c *helloConn) Write(b []byte) (int, error)      { return c.out.Write(b) }
func (c *helloConn) Close() error                     { return nil }
func (c *helloConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *helloConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *helloConn) SetDeadline(time.Time) error      { return nil }
func (c *helloConn) SetReadDeadline(time.Time) error  { return nil }
func (c *helloConn) SetWriteDeadline(time.Time) error { return nil }

// clientHello returns the first TLS record crypto/tls's client writes with
// cfg: its ClientHello, as the first TCP segment(s) would carry it.
func clientHello(t testing.TB, cfg *tls.Config) []byte {
	t.Helper()
	var c helloConn
	err := tls.Client(&c, cfg).Handshake()
	if !errors.Is(err, errNoServer) {
		t.Fatalf("handshake: %v", err)
	}
	b := c.out.Bytes()
	if len(b) < 5 {
		t.Fatalf("client wrote %d bytes", len(b))
	}
	n := 5 + int(binary.BigEndian.Uint16(b[3:]))
	return append([]byte(nil), b[:n]...)
}

type helloCase struct {
	name string
	cfg  *tls.Config
	sni  string
	ok   bool
}

func helloCases() []helloCase {
	return []helloCase{
		{"TLS 1.3 with SNI", &tls.Config{ServerName: "api.example.com"}, "api.example.com", true},
		{"TLS 1.2 with SNI", &tls.Config{ServerName: "api.example.com", MaxVersion: tls.VersionTLS12}, "api.example.com", true},
		{"TLS 1.3 classical key share", &tls.Config{ServerName: "www.example.net", CurvePreferences: []tls.CurveID{tls.X25519}}, "www.example.net", true},
		{"mixed case, trailing dot", &tls.Config{ServerName: "WWW.Example.ORG."}, "www.example.org", true},
		{"TLS 1.3 without SNI", &tls.Config{InsecureSkipVerify: true}, "", false},
		{"TLS 1.2 without SNI", &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12}, "", false},
		{"IP address: no SNI", &tls.Config{ServerName: "198.18.0.1"}, "", false},
	}
}

func TestParseClientHello(t *testing.T) {
	for _, tc := range helloCases() {
		t.Run(tc.name, func(t *testing.T) {
			h := clientHello(t, tc.cfg)
			if !LooksLikeClientHello(h) {
				t.Fatalf("LooksLikeClientHello(%x…) = false", h[:8])
			}
			sni, ok := ParseClientHello(h)
			if sni != tc.sni || ok != tc.ok {
				t.Fatalf("ParseClientHello = %q, %v; want %q, %v", sni, ok, tc.sni, tc.ok)
			}
			t.Logf("hello of %d bytes", len(h))
			// With the next record (or segment bytes) after it: the same.
			more := append(append([]byte(nil), h...), 0x14, 0x03, 0x03, 0x00, 0x01, 0x01)
			if sni2, ok2 := ParseClientHello(more); sni2 != sni || ok2 != ok {
				t.Errorf("with bytes after the record: %q, %v", sni2, ok2)
			}
		})
	}
}

// TestParseClientHelloCut cuts each hello at every length: no panic, and
// the name is found exactly from the length that holds the server_name
// extension on.
func TestParseClientHelloCut(t *testing.T) {
	for _, tc := range helloCases() {
		t.Run(tc.name, func(t *testing.T) {
			h := clientHello(t, tc.cfg)
			first := -1
			for n := 0; n <= len(h); n++ {
				sni, ok := ParseClientHello(h[:n])
				if ok && first < 0 {
					first = n
				}
				if first >= 0 && (!ok || sni != tc.sni) {
					t.Fatalf("cut at %d: %q, %v after a name at %d", n, sni, ok, first)
				}
				if !ok && sni != "" {
					t.Fatalf("cut at %d: %q without ok", n, sni)
				}
				if LooksLikeClientHello(h[:n]) != (n > 5) {
					t.Fatalf("LooksLikeClientHello at %d", n)
				}
			}
			if tc.ok && first < 0 || !tc.ok && first >= 0 {
				t.Fatalf("name first found at %d, want ok=%v", first, tc.ok)
			}
			if tc.ok {
				t.Logf("hello of %d bytes: server name complete at %d", len(h), first)
			}
		})
	}
}

// helloWith builds a ClientHello record by hand with the given extensions
// (each type, then body).
func helloWith(exts ...[]byte) []byte {
	var body []byte
	body = append(body, 3, 3)                // client_version
	body = append(body, make([]byte, 32)...) // random
	body = append(body, 0)                   // session_id
	body = append(body, 0, 2, 0x13, 0x01)    // cipher_suites
	body = append(body, 1, 0)                // compression_methods
	var ext []byte
	for _, e := range exts {
		ext = append(ext, e...)
	}
	body = binary.BigEndian.AppendUint16(body, uint16(len(ext)))
	body = append(body, ext...)
	hs := []byte{1, byte(len(body) >> 16), byte(len(body) >> 8), byte(len(body))}
	hs = append(hs, body...)
	rec := []byte{22, 3, 1}
	rec = binary.BigEndian.AppendUint16(rec, uint16(len(hs)))
	return append(rec, hs...)
}

// ext makes one extension.
func ext(typ uint16, body []byte) []byte {
	b := binary.BigEndian.AppendUint16(nil, typ)
	b = binary.BigEndian.AppendUint16(b, uint16(len(body)))
	return append(b, body...)
}

// sniExt makes a server_name extension of (type, name) entries.
func sniExt(entries ...[]byte) []byte {
	var list []byte
	for _, e := range entries {
		list = append(list, e...)
	}
	return ext(0, append(binary.BigEndian.AppendUint16(nil, uint16(len(list))), list...))
}

func sniEntry(kind byte, name string) []byte {
	b := []byte{kind}
	b = binary.BigEndian.AppendUint16(b, uint16(len(name)))
	return append(b, name...)
}

func TestParseClientHelloHandmade(t *testing.T) {
	long := bytes.Repeat([]byte("a"), 64)
	tests := []struct {
		name string
		msg  []byte
		sni  string
		ok   bool
	}{
		{"SNI after other extensions", helloWith(ext(23, nil), ext(65281, []byte{0}), sniExt(sniEntry(0, "late.example.com"))), "late.example.com", true},
		{"no extensions at all", helloWith()[:5+4+2+32+1+4+2], "", false},
		{"empty extensions", helloWith(), "", false},
		{"server_name without a host_name", helloWith(sniExt(sniEntry(1, "x"))), "", false},
		{"other name type first", helloWith(sniExt(sniEntry(7, "x"), sniEntry(0, "b.example.com"))), "b.example.com", true},
		{"refused: control character", helloWith(sniExt(sniEntry(0, "a\x1b]0;pwn\x07.example.com"))), "", true},
		{"refused: UTF-8", helloWith(sniExt(sniEntry(0, "bücher.example"))), "", true},
		{"refused: empty host_name", helloWith(sniExt(sniEntry(0, ""))), "", true},
		{"refused: empty label", helloWith(sniExt(sniEntry(0, "a..example.com"))), "", true},
		{"refused: label of 64 bytes", helloWith(sniExt(sniEntry(0, string(long)+".com"))), "", true},
		{"refused: 254 bytes", helloWith(sniExt(sniEntry(0, string(bytes.Repeat([]byte("a."), 126))+"ab"))), "", true},
		{"server_name list longer than its extension", helloWith(ext(0, []byte{0, 9, 0, 0, 1, 'a'})), "", false},
		{"host_name longer than its list", helloWith(ext(0, []byte{0, 4, 0, 0, 9, 'a'})), "", false},
		{"extension longer than the hello", func() []byte {
			h := helloWith(ext(23, []byte{1, 2}), sniExt(sniEntry(0, "a.example")))
			h[54], h[55] = 0, 0xff // the first extension's length
			return h
		}(), "", false},
		{"not a handshake", append([]byte{23}, helloWith(sniExt(sniEntry(0, "a.example")))[1:]...), "", false},
		{"SSL 2 version", append([]byte{22, 2}, helloWith(sniExt(sniEntry(0, "a.example")))[2:]...), "", false},
		{"ServerHello", func() []byte { h := helloWith(sniExt(sniEntry(0, "a.example"))); h[5] = 2; return h }(), "", false},
		{"record length 0", func() []byte { h := helloWith(sniExt(sniEntry(0, "a.example"))); h[3], h[4] = 0, 0; return h }(), "", false},
		{"handshake length 0", func() []byte { h := helloWith(sniExt(sniEntry(0, "a.example"))); h[6], h[7], h[8] = 0, 0, 0; return h }(), "", false},
		{"session_id past the end", func() []byte { h := helloWith(sniExt(sniEntry(0, "a.example"))); h[5+4+34] = 255; return h }(), "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sni, ok := ParseClientHello(tt.msg)
			if sni != tt.sni || ok != tt.ok {
				t.Errorf("ParseClientHello = %q, %v; want %q, %v", sni, ok, tt.sni, tt.ok)
			}
		})
	}
	// A refused server name is counted by the cache.
	c := NewCache(4)
	sni, ok := ParseClientHello(tests[5].msg)
	if !ok {
		t.Fatal("refused name: not ok")
	}
	c.AddSNI(addr(1), sni, t0)
	if s := c.Stats(); s.Refused != 1 || s.Entries != 0 {
		t.Errorf("after AddSNI of a refused name: %+v", s)
	}
}

func TestParseClientHelloAllocs(t *testing.T) {
	h := clientHello(t, &tls.Config{ServerName: "api.example.com"})
	if n := testing.AllocsPerRun(1000, func() { ParseClientHello(h) }); n > 1 {
		t.Errorf("ParseClientHello allocates %v times, want ≤ 1 (the name)", n)
	}
	h = clientHello(t, &tls.Config{InsecureSkipVerify: true})
	if n := testing.AllocsPerRun(1000, func() { ParseClientHello(h) }); n != 0 {
		t.Errorf("ParseClientHello without SNI allocates %v times, want 0", n)
	}
}
