package verdict

import (
	"net/netip"
	"testing"

	"netriage/triage/flows"
)

// floodWindow is 10 s of a random-source flood on eth0 at the default
// flow cap: 200,000 one-packet flows from distinct remotes to one local
// port, owned by the listening process (every tenth unattributed), every
// hundredth remote named, and one flow of real traffic.
func floodWindow() Window {
	fs := make([]Flow, 0, 200001)
	nginx, fwd := &Owner{PID: 80, Program: "nginx"}, &Owner{Unattributed: "forwarded"}
	for i := range 200000 {
		r := uint32(i)
		f := Flow{Key: flows.Key{Proto: flows.ProtoUDP, Local: netip.MustParseAddr("198.18.0.1"),
			Remote: netip.AddrFrom4([4]byte{198, 18 + byte(r>>16), byte(r >> 8), byte(r)}), LocalPort: 53, RemotePort: uint16(1024 + i%60000)},
			RecvBytes: 92, RecvPackets: 1, Owner: nginx}
		if i%10 == 0 {
			f.Owner = fwd
		}
		if i%100 == 0 {
			f.RemoteName = "host.example"
		}
		fs = append(fs, f)
	}
	fs = append(fs, owned(tcp(443, "198.19.0.1", 40e6, 1e6), 81, "backup"))
	return window(fs, 1e9, "ethtool")
}

// BenchmarkEvaluateFlood is the verdict of a window at a flood's flow
// cap, the explaining sets by flow, process and remote included (the
// engine's step evaluates one each second in check and the TUI).
func BenchmarkEvaluateFlood(b *testing.B) {
	w := floodWindow()
	cfg := DefaultThresholds()
	b.ReportAllocs()
	for b.Loop() {
		r := Evaluate(w, cfg)
		if len(r.Interfaces) != 1 || len(r.Interfaces[0].RX.ExplainedBy) == 0 {
			b.Fatal("nothing explained")
		}
	}
}
