package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"netriage/configs"
	"netriage/triage/verdict"
	"netriage/views"
)

// flowSplit is one flow's bytes as a command reports them, keyed by its
// 5-tuple in the command's own local/remote orientation.
type flowSplit map[string][2]uint64

func splitKey(proto, local string, lport uint16, remote string, rport uint16) string {
	return fmt.Sprintf("%s %s:%d %s:%d", proto, local, lport, remote, rport)
}

// lastModel records the newest published model.
type lastModel struct {
	mu sync.Mutex
	m  *views.Model
}

func (l *lastModel) Publish(m *views.Model) { l.mu.Lock(); l.m = m; l.mu.Unlock() }

// One file through replay, top --replay (its view model) and replay
// --check gives the same flows with the same sent/received split and the
// same totals: the three run on one engine with one local-side rule.
func TestConsistencyReplayTopCheck(t *testing.T) {
	dir := t.TempDir()
	file := writeReplayPcap(t, dir, "mixed.pcap", mixedReplay(t), false)

	// replay.
	out, errOut, code := runCmd(t, "replay", file, "-n", "--aggregate", "5tuple", "-L", "0", "--output", "json")
	if code != exitOK {
		t.Fatalf("replay: exit %d: %s", code, errOut)
	}
	rec := parseRecords(t, out)[0]
	replay := flowSplit{}
	for _, f := range rec.Flows {
		var lp, rp uint16
		if f.LocalPort != nil {
			lp, rp = *f.LocalPort, *f.RemotePort
		}
		replay[splitKey(*f.Proto, *f.LocalAddr, lp, *f.RemoteAddr, rp)] = [2]uint64{f.SentBytes, f.RecvBytes}
	}
	if len(replay) < 3 {
		t.Fatalf("replay found %d flows, want the test file's several", len(replay))
	}

	// top --replay: the final model.
	var rec2 lastModel
	tr, err := topReplaySetup(context.Background(), &topFlags{replay: file}, configs.Default(), &rec2)
	if err != nil {
		t.Fatal(err)
	}
	tr.Run(context.Background())
	tr.Close()
	top := flowSplit{}
	for _, f := range rec2.m.FlowRows() {
		top[splitKey(f.Proto, f.Local.String(), f.LocalPort, f.Remote.String(), f.RemotePort)] = [2]uint64{f.SentBytes, f.RecvBytes}
	}
	if fmt.Sprint(top) != fmt.Sprint(replay) {
		t.Errorf("top --replay flows differ from replay:\n top    %v\n replay %v", top, replay)
	}
	if rec2.m.Totals.SentBytes != rec.Totals.SentBytes || rec2.m.Totals.RecvBytes != rec.Totals.RecvBytes {
		t.Errorf("totals: top sent/recv %d/%d, replay %d/%d", rec2.m.Totals.SentBytes, rec2.m.Totals.RecvBytes, rec.Totals.SentBytes, rec.Totals.RecvBytes)
	}

	// replay --check, with every flow in the explanation.
	cfgPath := filepath.Join(dir, "all.yaml")
	if err := os.WriteFile(cfgPath, []byte("check:\n  explain_share: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, _ = runCmd(t, "replay", file, "--check", "--link-speed", "1G", "--config", cfgPath, "--output", "json")
	var rep verdict.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil || len(rep.Interfaces) != 1 {
		t.Fatalf("check report: %v (stderr %s)\n%s", err, errOut, out)
	}
	ifc := rep.Interfaces[0]
	// On a file the verdict counts a 14-byte link header per packet, as
	// the interface counters would.
	if ifc.TX.Bytes-14*ifc.TX.Packets != rec.Totals.SentBytes || ifc.RX.Bytes-14*ifc.RX.Packets != rec.Totals.RecvBytes ||
		ifc.TX.Packets != rec.Totals.SentPackets || ifc.RX.Packets != rec.Totals.RecvPackets {
		t.Errorf("check tx/rx %d/%d bytes in %d/%d packets, replay sent/recv %d/%d bytes in %d/%d packets",
			ifc.TX.Bytes, ifc.RX.Bytes, ifc.TX.Packets, ifc.RX.Packets, rec.Totals.SentBytes, rec.Totals.RecvBytes, rec.Totals.SentPackets, rec.Totals.RecvPackets)
	}
	check := flowSplit{}
	for _, dir := range [][]verdict.ExplainedFlow{ifc.TX.ExplainedBy, ifc.RX.ExplainedBy} {
		for _, f := range dir {
			var lp, rp uint16
			if f.LocalPort != nil {
				lp, rp = *f.LocalPort, *f.RemotePort
			}
			check[splitKey(f.Proto, f.LocalAddr, lp, f.RemoteAddr, rp)] = [2]uint64{f.SentBytes, f.RecvBytes}
		}
	}
	if fmt.Sprint(check) != fmt.Sprint(replay) {
		t.Errorf("replay --check flows differ from replay:\n check  %v\n replay %v", check, replay)
	}
}
