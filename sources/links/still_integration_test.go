package links

import (
	"net"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"netriage/internal/lab"
	"netriage/triage"
)

// stillReader opens a Reader on ns after its veth end k has gone quiet
// (the MLD reports of a new interface are over) and takes the first, full
// read.
func stillReader(t *testing.T, ns *lab.NS, k *lab.Link) *Reader {
	t.Helper()
	k.WaitQuiet(1500*time.Millisecond, 15*time.Second)
	r, err := Open(Options{Netns: ns.Name})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	if r.still == nil || r.still.ev < 0 {
		t.Fatal("no notification socket: every read would be a full one")
	}
	mustRead(t, r)
	return r
}

// readKind reads once and says whether the read was answered from the last
// full one.
func readKind(t *testing.T, r *Reader) (triage.LinksSample, bool) {
	t.Helper()
	before := r.still.run
	s := mustRead(t, r)
	return s, r.still.run == before+1
}

// TestIntegrationStillNamespace: a silent namespace is answered from the
// last full read (the same sample), every change a person could look for
// makes the next read a full one at once, and a full read comes at least
// every stillFullEvery reads.
func TestIntegrationStillNamespace(t *testing.T) {
	l := lab.New(t)
	a, b := l.Netns(), l.Netns()
	ka, kb := l.Veth(a, b)
	r := stillReader(t, a, ka)
	full, _ := readKind(t, r) // the probe's baseline may still change once
	for i := 0; i < 3; i++ {
		s, still := readKind(t, r)
		if !still {
			t.Fatalf("read %d of a silent namespace was a full one", i+1)
		}
		if !reflect.DeepEqual(s.Ifaces, full.Ifaces) {
			t.Fatalf("a still read differs from the full one:\n%+v\n%+v", s.Ifaces, full.Ifaces)
		}
	}

	steps := []struct {
		name  string
		do    func()
		check func(s triage.LinksSample) bool
	}{
		{"a packet sent", func() {
			if err := a.Do(func() error {
				c, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(kb.IPv4.Addr(), 9)))
				if err != nil {
					return err
				}
				defer c.Close()
				_, err = c.Write([]byte("x"))
				return err
			}); err != nil {
				t.Fatal(err)
			}
		}, func(s triage.LinksSample) bool {
			i, ok := s.Iface(ka.Name)
			f, _ := full.Iface(ka.Name)
			return ok && i.Counters.TxPackets > f.Counters.TxPackets
		}},
		{"an address added", func() { a.Run("ip", "addr", "add", "198.19.250.1/32", "dev", ka.Name) },
			func(s triage.LinksSample) bool {
				i, _ := s.Iface(ka.Name)
				for _, p := range i.Addrs {
					if p.Addr().String() == "198.19.250.1" {
						return true
					}
				}
				return false
			}},
		{"a qdisc added", func() { ka.TBF(50_000_000, 32_000, 64_000) },
			func(s triage.LinksSample) bool {
				i, _ := s.Iface(ka.Name)
				return i.Qdisc != nil && i.Qdisc.Kind == "tbf"
			}},
		{"the link set down", func() { ka.SetDown() },
			func(s triage.LinksSample) bool {
				i, _ := s.Iface(ka.Name)
				return !i.AdminUp
			}},
	}
	for _, st := range steps {
		// Settle: the change before this one may bring its own packets
		// and notifications for a moment.
		ka.WaitQuiet(500*time.Millisecond, 10*time.Second)
		mustRead(t, r)
		st.do()
		s, still := readKind(t, r)
		if still || !st.check(s) {
			t.Errorf("%s: the next read was still=%v and does not show it: %+v", st.name, still, s.Ifaces)
		}
	}

	// At least every stillFullEvery reads, a full one.
	ka.WaitQuiet(500*time.Millisecond, 10*time.Second)
	mustRead(t, r)
	mustRead(t, r)
	fulls := 0
	for range 2 * stillFullEvery {
		if _, still := readKind(t, r); !still {
			fulls++
		}
	}
	if fulls < 2 {
		t.Errorf("%d full reads in %d reads of a silent namespace, want at least 2", fulls, 2*stillFullEvery)
	}
}

// TestIntegrationStillStack: the stack counters of a still read are the
// last full read's, with conntrack's count read again.
func TestIntegrationStillStack(t *testing.T) {
	l := lab.New(t)
	a, b := l.Netns(), l.Netns()
	ka, _ := l.Veth(a, b)
	r := stillReader(t, a, ka)
	ifs := []string{ka.Name}
	if _, err := r.ReadStack(ifs); err != nil {
		t.Fatal(err)
	}
	mustRead(t, r)
	first, err := r.ReadStack(ifs)
	if err != nil {
		t.Fatal(err)
	}
	if _, still := readKind(t, r); !still {
		t.Fatal("a read of a silent namespace was a full one")
	}
	again, err := r.ReadStack(ifs)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(again.Proto, first.Proto) || !reflect.DeepEqual(again.Ifaces, first.Ifaces) {
		t.Errorf("still stack sample differs:\n%+v\n%+v", again, first)
	}
	if len(again.Softnet) == 0 {
		t.Error("no softnet rows in a still stack sample")
	}
	// Without a still Read before it, ReadStack reads in full.
	if r.still.stackStill {
		t.Error("stackStill left set after ReadStack")
	}
}

// BenchmarkReadStill measures Read and ReadStack of a silent namespace
// (a lab namespace with a quiet veth): what `links` costs at each step
// on an idle link. Needs root and NETRIAGE_INTEGRATION=1.
func BenchmarkReadStill(b *testing.B) {
	l := lab.New(b)
	a, c := l.Netns(), l.Netns()
	ka, _ := l.Veth(a, c)
	ka.WaitQuiet(1500*time.Millisecond, 15*time.Second)
	r, err := Open(Options{Netns: a.Name})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	ifs := []string{ka.Name}
	fulls := 0
	var stillNs, fullNs time.Duration
	b.ReportAllocs()
	for b.Loop() {
		before := r.still.run
		t0 := time.Now()
		if _, err := r.Read(); err != nil {
			b.Fatal(err)
		}
		if _, err := r.ReadStack(ifs); err != nil {
			b.Fatal(err)
		}
		if d := time.Since(t0); r.still.run != before+1 {
			fulls++
			fullNs += d
		} else {
			stillNs += d
		}
	}
	b.ReportMetric(float64(fulls)/float64(b.N), "full/op")
	if n := b.N - fulls; n > 0 {
		b.ReportMetric(float64(stillNs.Nanoseconds())/float64(n), "ns/still")
	}
	if fulls > 0 {
		b.ReportMetric(float64(fullNs.Nanoseconds())/float64(fulls), "ns/full")
	}
}
