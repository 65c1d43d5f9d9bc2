package triage

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// trackRow is the part of a LinkRow the tracker decides.
type trackRow struct {
	Name string
	Gone bool
	Note string
	Rx   uint64
}

type trackStep struct {
	Rows      []trackRow
	Removed   []string
	NetnsGone bool
	Left      bool
	GoneSince map[string]time.Time
}

func TestLinkTracker(t *testing.T) {
	t0 := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	iface := func(name string, rx uint64) IfaceSample {
		return IfaceSample{Name: name, OperState: "up", Counters: IfaceCounters{RxBytes: rx}}
	}
	sample := func(sec int, netnsGone string, ifs ...IfaceSample) LinksSample {
		return LinksSample{Time: t0.Add(time.Duration(sec) * time.Second), NetnsGone: netnsGone, Ifaces: ifs}
	}
	at := func(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }
	tests := []struct {
		name    string
		names   []string
		base    LinksSample
		samples []LinksSample
		want    []trackStep
	}{
		{
			name:  "rows in the order of names, others left out",
			names: []string{"eth1", "eth0"},
			base:  sample(0, "", iface("eth0", 0), iface("eth1", 0), iface("eth2", 0)),
			samples: []LinksSample{
				sample(1, "", iface("eth0", 100), iface("eth1", 200), iface("eth2", 300)),
			},
			want: []trackStep{{
				Rows: []trackRow{{Name: "eth1", Rx: 200}, {Name: "eth0", Rx: 100}},
				Left: true, GoneSince: map[string]time.Time{},
			}},
		},
		{
			name:  "removed once, gone row with the last sample, back, removed again",
			names: []string{"eth0", "eth1"},
			base:  sample(0, "", iface("eth0", 0), iface("eth1", 0)),
			samples: []LinksSample{
				sample(1, "", iface("eth0", 10), iface("eth1", 20)),
				sample(2, "", iface("eth0", 30)),
				sample(3, "", iface("eth0", 40)),
				sample(4, "", iface("eth0", 50), iface("eth1", 5)),
				sample(5, "", iface("eth0", 60)),
			},
			want: []trackStep{
				{Rows: []trackRow{{Name: "eth0", Rx: 10}, {Name: "eth1", Rx: 20}}, Left: true, GoneSince: map[string]time.Time{}},
				{Rows: []trackRow{{Name: "eth0", Rx: 30}, {Name: "eth1", Gone: true, Note: NoteGone, Rx: 20}}, Removed: []string{"eth1"}, Left: true,
					GoneSince: map[string]time.Time{"eth1": at(2)}},
				{Rows: []trackRow{{Name: "eth0", Rx: 40}, {Name: "eth1", Gone: true, Note: NoteGone, Rx: 20}}, Left: true,
					GoneSince: map[string]time.Time{"eth1": at(2)}},
				{Rows: []trackRow{{Name: "eth0", Rx: 50}, {Name: "eth1", Note: NoteNew, Rx: 5}}, Left: true, GoneSince: map[string]time.Time{}},
				{Rows: []trackRow{{Name: "eth0", Rx: 60}, {Name: "eth1", Gone: true, Note: NoteGone, Rx: 5}}, Removed: []string{"eth1"}, Left: true,
					GoneSince: map[string]time.Time{"eth1": at(5)}},
			},
		},
		{
			name:  "every interface gone: nothing left",
			names: []string{"eth0"},
			base:  sample(0, "", iface("eth0", 0)),
			samples: []LinksSample{
				sample(1, ""),
			},
			want: []trackStep{
				{Rows: []trackRow{{Name: "eth0", Gone: true, Note: NoteGone}}, Removed: []string{"eth0"}, GoneSince: map[string]time.Time{"eth0": at(1)}},
			},
		},
		{
			name:  "a name never seen is a gone row without counters",
			names: []string{"eth0", "wg0"},
			base:  sample(0, "", iface("eth0", 0)),
			samples: []LinksSample{
				sample(1, "", iface("eth0", 1)),
			},
			want: []trackStep{
				{Rows: []trackRow{{Name: "eth0", Rx: 1}, {Name: "wg0", Gone: true, Note: NoteGone}}, Removed: []string{"wg0"}, Left: true,
					GoneSince: map[string]time.Time{"wg0": at(1)}},
			},
		},
		{
			name:  "namespace gone: reported once, nothing left",
			names: []string{"veth0"},
			base:  sample(0, "", iface("veth0", 0)),
			samples: []LinksSample{
				sample(1, "netns lab is gone"),
				sample(2, "netns lab is gone"),
			},
			want: []trackStep{
				{Rows: []trackRow{{Name: "veth0", Gone: true, Note: NoteGone}}, Removed: []string{"veth0"}, NetnsGone: true,
					GoneSince: map[string]time.Time{"veth0": at(1)}},
				{Rows: []trackRow{{Name: "veth0", Gone: true, Note: NoteGone}}, GoneSince: map[string]time.Time{"veth0": at(1)}},
			},
		},
		{
			name:    "no names: nothing left",
			base:    sample(0, "", iface("eth0", 0)),
			samples: []LinksSample{sample(1, "", iface("eth0", 1))},
			want:    []trackStep{{Rows: []trackRow{}, GoneSince: map[string]time.Time{}}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := NewLinkTracker(tc.names, nil)
			tr.Baseline(tc.base)
			var got []trackStep
			for _, s := range tc.samples {
				st := tr.Next(s)
				g := trackStep{Rows: []trackRow{}, Removed: st.Removed, NetnsGone: st.NetnsGone, Left: st.Left, GoneSince: map[string]time.Time{}}
				for _, r := range st.Rows {
					g.Rows = append(g.Rows, trackRow{Name: r.Sample.Name, Gone: r.Gone, Note: r.Rates.Note, Rx: r.Sample.Counters.RxBytes})
				}
				for k, v := range tr.GoneSince() {
					g.GoneSince[k] = v
				}
				got = append(got, g)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("steps (-want +got):\n%s", d)
			}
		})
	}
}
