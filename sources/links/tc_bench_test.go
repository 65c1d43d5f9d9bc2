package links

import (
	"fmt"
	"testing"

	"netriage/internal/lab"
	"netriage/triage"
)

// BenchmarkReadTC is the class-statistics read of one Read in the
// caller's namespace: the raw qdisc dump (extended statistics) and the
// class dump of each htb or hfsc root, decoded and attached.
func BenchmarkReadTC(b *testing.B) {
	r, err := Open(Options{NoEthtool: true})
	if err != nil {
		b.Skip(err)
	}
	defer r.Close()
	benchReadTC(b, r)
}

// BenchmarkReadTCHTB16 is the same read of a lab namespace whose veth has
// an htb root with one inner class and 16 leaves, each with a pfifo.
func BenchmarkReadTCHTB16(b *testing.B) {
	l := lab.New(b)
	a, c := l.Netns(), l.Netns()
	la, _ := l.Veth(a, c)
	a.Run("tc", "qdisc", "replace", "dev", la.Name, "root", "handle", "1:", "htb", "default", "10")
	a.Run("tc", "class", "add", "dev", la.Name, "parent", "1:", "classid", "1:1", "htb", "rate", "100mbit")
	for i := range 16 {
		id := fmt.Sprintf("1:%x", 0x10+i)
		a.Run("tc", "class", "add", "dev", la.Name, "parent", "1:1", "classid", id, "htb", "rate", "5mbit", "ceil", "100mbit")
		a.Run("tc", "qdisc", "add", "dev", la.Name, "parent", id, "pfifo", "limit", "100")
	}
	r, err := Open(Options{Netns: a.Name, NoEthtool: true})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	benchReadTC(b, r)
}

func benchReadTC(b *testing.B, r *Reader) {
	s, err := r.Read()
	if err != nil {
		b.Fatal(err)
	}
	qs, err := r.h.QdiscList(nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		var out triage.LinksSample
		rawQ, rawC := r.readTC(qs, &out)
		ifaces := append([]triage.IfaceSample(nil), s.Ifaces...)
		for i := range ifaces {
			if q := ifaces[i].Qdisc; q != nil {
				qq := *q
				qq.Classes, qq.AQM = nil, nil
				ifaces[i].Qdisc = &qq
			}
		}
		attachTC(ifaces, rawQ, rawC)
		if len(out.Warnings) > 0 {
			b.Fatal(out.Warnings)
		}
	}
}
