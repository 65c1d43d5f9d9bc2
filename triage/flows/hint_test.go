package flows

import (
	"net/netip"
	"testing"
	"time"
)

// TestHintDecidesWhenAddressesCannot: with neither address local, the
// capture's direction hint orients the flow; with a local address the
// addresses win over the hint.
func TestHintDecidesWhenAddressesCannot(t *testing.T) {
	local := NewLocal(netip.MustParsePrefix("198.18.0.1/32"))
	ts := time.Unix(1000, 0)
	mcast := netip.MustParseAddr("ff02::16")
	peer := netip.MustParseAddr("fe80::2")
	tests := []struct {
		name     string
		p        Packet
		wantSent bool
		wantKey  Key
	}{
		{"neither local, hint recv", Packet{Time: ts, Proto: ProtoICMPv6, Src: peer, Dst: mcast, Length: 76, Hint: SideRecv}, false, Key{Proto: ProtoICMPv6, Local: mcast, Remote: peer}},
		{"neither local, hint sent", Packet{Time: ts, Proto: ProtoICMPv6, Src: peer, Dst: mcast, Length: 76, Hint: SideSent}, true, Key{Proto: ProtoICMPv6, Local: peer, Remote: mcast}},
		{"local source beats hint", Packet{Time: ts, Proto: ProtoUDP, Src: netip.MustParseAddr("198.18.0.1"), Dst: netip.MustParseAddr("198.18.0.2"), SrcPort: 1, DstPort: 2, Length: 100, Hint: SideRecv}, true,
			Key{Proto: ProtoUDP, Local: netip.MustParseAddr("198.18.0.1"), Remote: netip.MustParseAddr("198.18.0.2"), LocalPort: 1, RemotePort: 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tb := NewTable(TableConfig{MaxFlows: 16, Local: local})
			p := tc.p
			tb.Update(&p)
			s := tb.Snapshot(ts.Add(time.Second), By5Tuple)
			if len(s.Flows) != 1 {
				t.Fatalf("%d flows", len(s.Flows))
			}
			f := s.Flows[0]
			if f.Key != tc.wantKey {
				t.Errorf("key %+v, want %+v", f.Key, tc.wantKey)
			}
			if sent := f.SentBytes > 0; sent != tc.wantSent {
				t.Errorf("sent=%v (sent %d recv %d), want sent=%v", sent, f.SentBytes, f.RecvBytes, tc.wantSent)
			}
		})
	}
}
