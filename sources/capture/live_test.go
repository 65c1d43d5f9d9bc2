package capture

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket/pcap"

	"netriage/triage/flows"
)

// These tests need no privileges: StartLive checks the filter and the
// interface names before it opens any socket.

func TestStartLiveFilterError(t *testing.T) {
	for _, expr := range []string{"tcp port", "host 300.1.1.1", "portrange 10-", "nosuchkeyword"} {
		_, err := StartLive(context.Background(), LiveOptions{Interfaces: []string{"lo"}, Filter: expr})
		var fe *FilterError
		if !errors.As(err, &fe) {
			t.Fatalf("filter %q: err = %v, want *FilterError", expr, err)
		}
		if fe.Expr != expr || !strings.Contains(err.Error(), expr) || fe.Err == nil || fe.Err.Error() == "" {
			t.Errorf("filter %q: error %q must carry the expression and libpcap's message", expr, err)
		}
	}
}

func TestStartLiveUnknownInterface(t *testing.T) {
	_, err := StartLive(context.Background(), LiveOptions{Interfaces: []string{"nosuchif0"}, Table: flows.TableConfig{MaxFlows: 10}})
	if !errors.Is(err, ErrNoInterface) {
		t.Fatalf("err = %v, want ErrNoInterface", err)
	}
	if !strings.Contains(err.Error(), "nosuchif0") || !strings.Contains(err.Error(), "lo") {
		t.Errorf("error %q must name the interface and list the existing ones", err)
	}
}

// TestStartLivePermission runs only without CAP_NET_RAW (not as root).
func TestStartLivePermission(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root can capture; cmd/netriage's TestE2EFlowsNoPermission drops the capability instead")
	}
	_, err := StartLive(context.Background(), LiveOptions{Interfaces: []string{"lo"}, Table: flows.TableConfig{MaxFlows: 10}})
	if !errors.Is(err, ErrPermission) {
		t.Fatalf("err = %v, want ErrPermission", err)
	}
	for _, want := range []string{"CAP_NET_RAW", "sudo", "setcap cap_net_raw,cap_net_admin+ep"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestToRaw(t *testing.T) {
	ins, err := pcap.CompileBPFFilter(1, liveFrameSize, "udp port 53")
	if err != nil {
		t.Fatal(err)
	}
	raw := toRaw(ins)
	if len(raw) != len(ins) || len(raw) == 0 {
		t.Fatalf("%d instructions, want %d", len(raw), len(ins))
	}
	for i := range ins {
		if raw[i].Op != ins[i].Code || raw[i].Jt != ins[i].Jt || raw[i].Jf != ins[i].Jf || raw[i].K != ins[i].K {
			t.Errorf("instruction %d: %+v from %+v", i, raw[i], ins[i])
		}
	}
}

func TestRingGeometry(t *testing.T) {
	for _, tc := range []struct{ mib, bs, n int }{
		{DefaultRingMiB, 1 << 20, 32}, {64, 1 << 20, 64}, {48, 1 << 20, 48}, {1024, 1 << 20, 1024},
		{16, 512 << 10, 32}, {20, 512 << 10, 40}, {8, 256 << 10, 32}, {2, 64 << 10, 32}, {1, 32 << 10, 32},
	} {
		bs, n := ringGeometry(tc.mib << 20)
		if bs != tc.bs || n != tc.n {
			t.Errorf("%d MiB: %d blocks of %d, want %d of %d", tc.mib, n, bs, tc.n, tc.bs)
		}
	}
}

// TestRingGeometryHoldsOneSecond checks every ring size a configuration
// accepts: the whole ring is used, and it has at least liveMinBlocks
// blocks, which at low rates (a block per time-out) hold more than a
// second of packets.
func TestRingGeometryHoldsOneSecond(t *testing.T) {
	for mib := 1; mib <= 1024; mib++ {
		bs, n := ringGeometry(mib << 20)
		if bs*n != mib<<20 || n < liveMinBlocks || bs > liveBlockSize || bs%liveFrameSize != 0 {
			t.Fatalf("%d MiB: %d blocks of %d bytes", mib, n, bs)
		}
	}
	if held := liveMinBlocks * liveBlockTimeout; held < 1500*time.Millisecond {
		t.Errorf("%d blocks × %v = %v: not a second with room to spare", liveMinBlocks, liveBlockTimeout, held)
	}
}
