package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/big"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"netriage/internal/lab"
	"netriage/views/output"
)

// The egress lab: a client namespace C routes through R to three servers and
// a DNS responder, each in its own namespace, so each server's veth counters
// are the ground truth of the bytes to it:
//
//	S1 198.18.2.2  in egress.networks "peer-vpc" (class peering), named by
//	               DNS "peer.lab.example" (an A answer)
//	S2 198.18.3.2  in the provider-format ranges file (aws S3 eu-west-1, the
//	               host in us-east-1: cross-region), named by DNS
//	               "bucket.lab.example" (a CNAME to s3-eu-west-1.lab.example)
//	S3 198.18.4.2  no DNS answer; a TLS connection with the server name
//	               "tls.lab.example" (SNI), class private
//	D  198.18.5.2  the DNS responder
//
// `netriage egress` runs in C on its veth; the client is this test process.
type egressLab struct {
	l          *lab.Lab
	c          *lab.NS
	cLink      *lab.Link
	s          [3]*lab.Link // the servers' ends
	dns        netip.AddrPort
	dir, cfg   string
	sizes      [3]int64
	prices     map[string]float64
	proc       string
	pcap       string
	tcpdumpOut *bytes.Buffer
}

func newEgressLab(t *testing.T) *egressLab {
	l := lab.New(t)
	e := &egressLab{l: l, c: l.Netns(), dir: t.TempDir(), sizes: [3]int64{2_000_000, 3_000_000, 1_000_000},
		prices: map[string]float64{"peering": 0.01, "cross-region": 0.02}}
	r := l.Netns()
	var rEnd *lab.Link
	e.cLink, rEnd = l.Veth(e.c, r)
	e.c.Run("ip", "route", "add", "default", "via", rEnd.IPv4.Addr().String())
	e.c.Run("ip", "-6", "route", "add", "default", "via", rEnd.IPv6.Addr().String())
	r.Run("sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
	r.Run("sysctl", "-q", "-w", "net.ipv6.conf.all.forwarding=1")
	server := func() (*lab.NS, *lab.Link) {
		ns := l.Netns()
		rs, sr := l.Veth(r, ns)
		ns.Run("ip", "route", "add", "default", "via", rs.IPv4.Addr().String())
		ns.Run("ip", "-6", "route", "add", "default", "via", rs.IPv6.Addr().String())
		return ns, sr
	}
	var sns [3]*lab.NS
	for i := range 3 {
		sns[i], e.s[i] = server()
	}
	dns, dLink := server()
	e.dns = netip.AddrPortFrom(dLink.IPv4.Addr(), 53)
	startDNS(t, dns, e.dns, map[string]netip.Addr{
		"peer.lab.example.":         e.s[0].IPv4.Addr(),
		"s3-eu-west-1.lab.example.": e.s[1].IPv4.Addr(),
	}, map[string]string{"bucket.lab.example.": "s3-eu-west-1.lab.example."})
	ranges := filepath.Join(e.dir, "ip-ranges.json")
	writeFile(t, ranges, fmt.Sprintf(`{"syncToken":"1","createDate":"2026-12-01-00-00-00","prefixes":[
  {"ip_prefix":"%s","region":"eu-west-1","service":"S3","network_border_group":"eu-west-1"}],"ipv6_prefixes":[]}`, e.s[1].IPv4.Masked()))
	e.cfg = filepath.Join(e.dir, "netriage.yaml")
	writeFile(t, e.cfg, fmt.Sprintf(`egress:
  provider: aws
  region: us-east-1
  ranges:
    - provider: aws
      file: %s
  networks:
    - name: peer-vpc
      cidrs: [%s]
      class: peering
  unit: GB
  currency: USD
  prices:
    peering: {sent: 0.01, received: 0}
    cross-region: {sent: 0.02, received: 0}
`, ranges, e.s[0].IPv4.Masked()))
	e.proc = filepath.Base(os.Args[0])
	if len(e.proc) > 15 {
		e.proc = e.proc[:15] // the kernel's comm
	}
	return e
}

// startDNS answers A queries for the names of a (and CNAMEs of cname, with
// the target's A record) on addr inside ns, until the test ends.
func startDNS(t *testing.T, ns *lab.NS, addr netip.AddrPort, a map[string]netip.Addr, cname map[string]string) {
	var pc *net.UDPConn
	if err := ns.Do(func() (err error) {
		pc, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(addr))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			var p dnsmessage.Parser
			h, err := p.Start(buf[:n])
			if err != nil {
				continue
			}
			q, err := p.Question()
			if err != nil {
				continue
			}
			b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true})
			_ = b.StartQuestions()
			_ = b.Question(q)
			_ = b.StartAnswers()
			name := q.Name.String()
			if target, ok := cname[name]; ok {
				_ = b.CNAMEResource(dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 300},
					dnsmessage.CNAMEResource{CNAME: dnsmessage.MustNewName(target)})
				name = target
			}
			if ip, ok := a[name]; ok {
				_ = b.AResource(dnsmessage.ResourceHeader{Name: dnsmessage.MustNewName(name), Class: dnsmessage.ClassINET, TTL: 300},
					dnsmessage.AResource{A: ip.As4()})
			}
			msg, err := b.Finish()
			if err == nil {
				_, _ = pc.WriteToUDPAddrPort(msg, from)
			}
		}
	}()
}

// resolve asks the lab's DNS responder for name's A record from ns.
func resolve(t *testing.T, ns *lab.NS, server netip.AddrPort, name string) netip.Addr {
	t.Helper()
	q := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: 7, RecursionDesired: true})
	_ = q.StartQuestions()
	_ = q.Question(dnsmessage.Question{Name: dnsmessage.MustNewName(name), Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET})
	msg, _ := q.Finish()
	var got netip.Addr
	err := ns.Do(func() error {
		c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(server))
		if err != nil {
			return err
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(3 * time.Second))
		if _, err := c.Write(msg); err != nil {
			return err
		}
		buf := make([]byte, 1500)
		n, err := c.Read(buf)
		if err != nil {
			return err
		}
		var p dnsmessage.Parser
		if _, err := p.Start(buf[:n]); err != nil {
			return err
		}
		_ = p.SkipAllQuestions()
		for {
			h, err := p.AnswerHeader()
			if err != nil {
				return nil
			}
			if h.Type == dnsmessage.TypeA {
				r, _ := p.AResource()
				got = netip.AddrFrom4(r.A)
			} else {
				_ = p.SkipAnswer()
			}
		}
	})
	if err != nil || !got.IsValid() {
		t.Fatalf("resolve %s: %v (got %v)", name, err, got)
	}
	return got
}

// tlsSink listens for TLS on addr inside ns and counts the application
// bytes it reads.
func tlsSink(t *testing.T, ns *lab.NS, ip netip.Addr) (netip.AddrPort, func() int64) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), DNSNames: []string{"tls.lab.example"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	var ln net.Listener
	if err := ns.Do(func() (err error) {
		ln, err = tls.Listen("tcp", netip.AddrPortFrom(ip, 443).String(), cfg)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var mu sync.Mutex
	var total int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				n, _ := io.Copy(io.Discard, c)
				mu.Lock()
				total += n
				mu.Unlock()
			}()
		}
	}()
	return netip.AddrPortFrom(ip, 443), func() int64 { mu.Lock(); defer mu.Unlock(); return total }
}

// traffic resolves the two names and sends the lab's bytes: plain TCP to S1
// and S2 at the resolved addresses, TLS with a server name to S3.
func (e *egressLab) traffic(t *testing.T, sinks [2]*lab.Sink, tlsAddr netip.AddrPort, tlsRead func() int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for i, name := range []string{"peer.lab.example.", "bucket.lab.example."} {
		ip := resolve(t, e.c, e.dns, name)
		if ip != e.s[i].IPv4.Addr() {
			t.Fatalf("%s resolved to %v, want %v", name, ip, e.s[i].IPv4.Addr())
		}
		// Paced to last about a second: the socket table (read four
		// times a second) sees the connection, and tcpdump keeps up.
		if _, err := e.c.SendTCP(ctx, netip.AddrPortFrom(ip, sinks[i].Addr().Port()), lab.Send{Bytes: e.sizes[i], RateBps: uint64(e.sizes[i]) * 8, Timeout: 15 * time.Second}); err != nil {
			t.Fatal(err)
		}
	}
	err := e.c.Do(func() error {
		c, err := tls.Dial("tcp", tlsAddr.String(), &tls.Config{ServerName: "tls.lab.example", InsecureSkipVerify: true})
		if err != nil {
			return err
		}
		chunk := make([]byte, e.sizes[2]/10)
		for range 10 {
			if _, err := c.Write(chunk); err != nil {
				return err
			}
			time.Sleep(100 * time.Millisecond)
		}
		return c.Close()
	})
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); tlsRead() < e.sizes[2] && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if got := tlsRead(); got != e.sizes[2] {
		t.Fatalf("the TLS sink read %d bytes, want %d", got, e.sizes[2])
	}
}

// ipBytes is a server's veth counters as IP bytes: received (the client's
// sent) and transmitted, less the Ethernet headers.
func ipBytes(t *testing.T, k *lab.Link) (rx, tx uint64) {
	t.Helper()
	c, err := k.ReadCounters()
	if err != nil {
		t.Fatal(err)
	}
	return c.RxBytes - 14*c.RxPackets, c.TxBytes - 14*c.TxPackets
}

// lastRecord is the last NDJSON record of out.
func lastRecord(t *testing.T, out []byte) output.EgressRecord {
	t.Helper()
	var rec output.EgressRecord
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	n := 0
	for sc.Scan() {
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("not an egress record: %v\n%s", err, sc.Text())
		}
		n++
	}
	if n == 0 {
		t.Fatalf("no egress record in the output")
	}
	return rec
}

func findGroup(rec output.EgressRecord, name, class string) (output.EgressGroupRecord, bool) {
	for _, g := range rec.Groups {
		if g.Name == name && g.Class == class {
			return g, true
		}
	}
	return output.EgressGroupRecord{}, false
}

// TestIntegrationEgressLab: every name gets its class, its process and the
// exact bytes its server's veth counted; the cost is bytes × the price;
// the groups sum to the total; a replay of the capture gives the same
// table.
func TestIntegrationEgressLab(t *testing.T) {
	e := newEgressLab(t)
	bin := lab.Binary(t)
	sinks := [2]*lab.Sink{e.s[0].NS.TCPSink(e.s[0].IPv4.Addr()), e.s[1].NS.TCPSink(e.s[1].IPv4.Addr())}
	tlsAddr, tlsRead := tlsSink(t, e.s[2].NS, e.s[2].IPv4.Addr())
	e.cLink.WaitQuiet(300*time.Millisecond, 3*time.Second)

	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	e.pcap = filepath.Join(e.dir, "egress.pcap")
	dump := e.c.Command(ctx, "tcpdump", "-i", e.cLink.Name, "-U", "-s", "0", "-w", e.pcap)
	var dumpErr bytes.Buffer
	dump.Stderr = &dumpErr
	if err := dump.Start(); err != nil {
		t.Fatalf("tcpdump: %v", err)
	}
	live := e.c.Command(ctx, bin, "egress", "-i", e.cLink.Name, "--config", e.cfg, "-n", "--by", "name,class,process",
		"-O", "json", "--interval", "1s", "--duration", "8s", "-L", "0")
	var out, errOut bytes.Buffer
	live.Stdout, live.Stderr = &out, &errOut
	if err := live.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond) // the rings are open: the first record comes after 1 s
	var before [3][2]uint64
	for i, k := range e.s {
		before[i][0], before[i][1] = ipBytes(t, k)
	}
	e.traffic(t, sinks, tlsAddr, tlsRead)
	if err := live.Wait(); err != nil {
		t.Fatalf("netriage egress: %v\nstderr: %s", err, errOut.String())
	}
	time.Sleep(300 * time.Millisecond)
	_ = dump.Process.Signal(os.Interrupt)
	_ = dump.Wait()

	rec := lastRecord(t, out.Bytes())
	t.Logf("live record: %+v", rec)
	want := []struct{ name, class string }{
		{"peer.lab.example", "peering"},
		{"bucket.lab.example", "cross-region"},
		{"tls.lab.example", "private"},
	}
	for i, w := range want {
		g, ok := findGroup(rec, w.name, w.class)
		if !ok {
			t.Errorf("no group %s/%s in %+v", w.name, w.class, rec.Groups)
			continue
		}
		rx, tx := ipBytes(t, e.s[i])
		sent, recv := rx-before[i][0], tx-before[i][1]
		t.Logf("%s (%s, %s): sent %d received %d; the server's veth: %d and %d; cost %v", w.name, w.class, g.Process, g.SentBytes, g.ReceivedBytes, sent, recv, g.Cost)
		if g.SentBytes != sent || g.ReceivedBytes != recv {
			t.Errorf("%s: sent %d received %d, the server's veth counted %d and %d", w.name, g.SentBytes, g.ReceivedBytes, sent, recv)
		}
		if !strings.HasPrefix(g.Process, e.proc+"[") {
			t.Errorf("%s: process %q, want %s[PID]", w.name, g.Process, e.proc)
		}
		if p, ok := e.prices[w.class]; ok {
			if g.Cost == nil || math.Abs(*g.Cost-float64(g.SentBytes)/1e9*p) > 1e-6 {
				t.Errorf("%s: cost %v, want %d B × %v USD/GB", w.name, g.Cost, g.SentBytes, p)
			}
		} else if g.Cost != nil {
			t.Errorf("%s: cost %v for an unpriced class", w.name, *g.Cost)
		}
	}
	var sum uint64
	for _, g := range rec.Groups {
		sum += g.SentBytes
	}
	if sum != rec.Total.SentBytes {
		t.Errorf("groups sum to %d sent bytes, the total is %d", sum, rec.Total.SentBytes)
	}

	// The same capture, replayed: the same bytes per name and class.
	rep := e.c.Command(ctx, bin, "egress", "--replay", e.pcap, "--config", e.cfg, "-n", "--by", "name,class",
		"-F", e.cLink.IPv4.String(), "-O", "json", "-L", "0")
	rout, err := rep.Output()
	if err != nil {
		t.Fatalf("egress --replay: %v (tcpdump: %s)", err, dumpErr.String())
	}
	t.Logf("tcpdump: %s", strings.TrimSpace(dumpErr.String()))
	rrec := lastRecord(t, rout)
	if os.Getenv("NETRIAGE_EGRESS_TEXT") == "1" {
		// For docs/guide.md: the replay as tables.
		for _, by := range []string{"class", "class,name", "process,class"} {
			txt, _ := e.c.Command(ctx, bin, "egress", "--replay", e.pcap, "--config", e.cfg, "-n", "--by", by, "-F", e.cLink.IPv4.String(), "-L", "0").Output()
			t.Logf("egress --by %s:\n%s", by, txt)
		}
	}
	for _, w := range want {
		lg, _ := findGroup(rec, w.name, w.class)
		rg, ok := findGroup(rrec, w.name, w.class)
		if !ok || rg.SentBytes != lg.SentBytes || rg.ReceivedBytes != lg.ReceivedBytes {
			t.Errorf("replay %s/%s: %+v, live %+v", w.name, w.class, rg, lg)
		}
	}
}
