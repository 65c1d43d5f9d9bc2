package verdict

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strconv"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"

	"netriage/triage/flows"
)

// The explaining sets' definition, written the plain way: sort every
// flow (or labelled group) and take from the front. explainFlows and
// explainGroups pick the same sets without the sort and without a label
// per flow.

func explainFlowsModel(fs []dirFlow, total uint64, share, winSec float64) ([]ExplainedFlow, float64) {
	out := []ExplainedFlow{}
	if total == 0 {
		return out, 0
	}
	sorted := slices.Clone(fs)
	slices.SortStableFunc(sorted, func(a, b dirFlow) int {
		return cmp.Or(cmp.Compare(b.bytes, a.bytes), compareKeys(a.f.Key, b.f.Key))
	})
	var sum uint64
	for _, x := range sorted {
		if reached(sum, total, share) || len(out) == MaxExplained {
			break
		}
		sum += x.bytes
		out = append(out, explained(x, total, winSec))
	}
	return out, round(float64(sum)/float64(total), 4)
}

func ownerLabelModel(o *Owner) string {
	switch {
	case o == nil:
		return "(no process data)"
	case o.PID > 0:
		s := o.Program + " (pid " + strconv.Itoa(o.PID) + ")"
		if o.Container != "" {
			s += " [" + o.Container + "]"
		}
		return s
	case o.Unattributed != "":
		return "unattributed: " + o.Unattributed
	}
	return "unattributed: unknown"
}

func remoteLabelModel(f *Flow) string {
	if f.RemoteName != "" {
		return fmt.Sprintf("%s (%s)", f.RemoteName, f.Key.Remote)
	}
	return f.Key.Remote.String()
}

func explainGroupsModel(fs []dirFlow, total uint64, share, winSec float64, label func(*Flow) string) []Group {
	out := []Group{}
	if total == 0 {
		return out
	}
	idx := map[string]int{}
	var groups []Group
	for _, x := range fs {
		l := label(x.f)
		i, ok := idx[l]
		if !ok {
			i = len(groups)
			idx[l] = i
			groups = append(groups, Group{Name: l})
		}
		groups[i].Bytes += x.bytes
		groups[i].Flows++
	}
	slices.SortFunc(groups, func(a, b Group) int {
		return cmp.Or(cmp.Compare(b.Bytes, a.Bytes), cmp.Compare(a.Name, b.Name))
	})
	var sum uint64
	for _, g := range groups {
		if reached(sum, total, share) || len(out) == MaxExplained {
			break
		}
		sum += g.Bytes
		g.Share = round(float64(g.Bytes)/float64(total), 4)
		if winSec > 0 {
			g.RateBps = round(float64(g.Bytes)*8/winSec, 1)
		}
		out = append(out, g)
	}
	return out
}

// randomFlows makes n flows with few byte sizes (ties), few remotes and
// owners, among them the keys whose labels collide: no owner data
// against an owner with no PID, "unknown" against no reason, a program
// name that looks like another's label, a remote with a zone, names.
func randomFlows(rng *rand.Rand, n int) []Flow {
	owners := []*Owner{nil, {}, {Unattributed: "unknown"}, {Program: "ghost"}, {Unattributed: "forwarded"},
		{PID: 7, Program: "nginx"}, {PID: 7, Program: "nginx", Container: "web"}, {PID: 8, Program: "nginx"},
		{PID: 1, Program: "a (pid 2)"}, {PID: 2, Program: "a"}, {PID: 9, Program: "curl", Limit: "receiver"}}
	remotes := []netip.Addr{netip.MustParseAddr("198.18.1.1"), netip.MustParseAddr("198.18.1.2"), netip.MustParseAddr("198.18.1.10"),
		netip.MustParseAddr("fd00:198:18::1"), netip.MustParseAddr("::ffff:198.18.1.1"), netip.MustParseAddr("fe80::1%eth0"),
		netip.MustParseAddr("fe80::1%x (fe80::2)"), netip.MustParseAddr("fe80::2"), {}}
	names := []string{"", "", "a.example", "b.example", "fe80::1%x"}
	sizes := []uint64{1, 92, 92, 1500, 3000, 1 << 20}
	out := make([]Flow, n)
	for i := range out {
		proto := []flows.Proto{flows.ProtoTCP, flows.ProtoUDP, flows.ProtoICMP}[rng.IntN(3)]
		k := flows.Key{Proto: proto, Local: netip.MustParseAddr("198.18.0.1"), Remote: remotes[rng.IntN(len(remotes))]}
		if proto.HasPorts() {
			k.LocalPort, k.RemotePort = uint16(rng.IntN(4)), uint16(rng.IntN(3))
		}
		out[i] = Flow{Key: k, SentBytes: sizes[rng.IntN(len(sizes))], SentPackets: 1, RecvBytes: sizes[rng.IntN(len(sizes))], RecvPackets: 1,
			Owner: owners[rng.IntN(len(owners))], RemoteName: names[rng.IntN(len(names))]}
	}
	return out
}

func TestExplainMatchesModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for round := range 1500 {
		n := rng.IntN(10)
		switch round % 4 {
		case 1:
			n = rng.IntN(200)
		case 2:
			n = MaxExplained + rng.IntN(3) - 1
		}
		fs := randomFlows(rng, n)
		var dfs []dirFlow
		var total uint64
		for i := range fs {
			dfs = append(dfs, dirFlow{f: &fs[i], bytes: fs[i].SentBytes})
			total += fs[i].SentBytes
		}
		share := []float64{0.5, 0.8, 0.9, 1, 0.0001}[rng.IntN(5)]
		if rng.IntN(10) == 0 {
			total = 0
		}
		gotF, gotS := explainFlows(dfs, total, share, 10)
		wantF, wantS := explainFlowsModel(dfs, total, share, 10)
		if d := gocmp.Diff(wantF, gotF); d != "" || gotS != wantS {
			t.Fatalf("round %d (%d flows, share %v): flows differ (-model +got):\n%s\nshare %v, model %v", round, n, share, d, gotS, wantS)
		}
		if d := gocmp.Diff(explainGroupsModel(dfs, total, share, 10, func(f *Flow) string { return ownerLabelModel(f.Owner) }),
			explainByProcess(dfs, total, share, 10)); d != "" {
			t.Fatalf("round %d: by process (-model +got):\n%s", round, d)
		}
		if d := gocmp.Diff(explainGroupsModel(dfs, total, share, 10, remoteLabelModel), explainByRemote(dfs, total, share, 10)); d != "" {
			t.Fatalf("round %d: by remote (-model +got):\n%s", round, d)
		}
	}
}

func TestOwnerLabelMatchesModel(t *testing.T) {
	for _, o := range []*Owner{nil, {}, {Unattributed: "unknown"}, {PID: 12, Program: "x", Container: "c"}, {PID: -1, Program: "neg"}, {PID: 3}} {
		if got, want := OwnerLabel(o), ownerLabelModel(o); got != want {
			t.Errorf("OwnerLabel(%+v) = %q, want %q", o, got, want)
		}
	}
}
