package links

import (
	"encoding/json"
	"os"
	"testing"
)

// BenchmarkRead measures one full sample of the caller's namespace: link
// dump, qdisc dump, address dump, ethtool ioctl and sysfs read per interface.
func BenchmarkRead(b *testing.B) {
	r, err := Open(Options{})
	if err != nil {
		b.Skip(err)
	}
	defer r.Close()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Read(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadNoSysfs is BenchmarkRead without the sysfs reads (what a
// --netns reader does).
func BenchmarkReadNoSysfs(b *testing.B) {
	r, err := Open(Options{})
	if err != nil {
		b.Skip(err)
	}
	r.sysfsRoot = ""
	defer r.Close()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Read(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParse measures the pure part on the shapers fixture.
func BenchmarkParse(b *testing.B) {
	raw, err := os.ReadFile("testdata/shapers.fixture.json")
	if err != nil {
		b.Fatal(err)
	}
	var f fixture
	if err := json.Unmarshal(raw, &f); err != nil {
		b.Fatal(err)
	}
	l, q, c, a, s := f.decode(b)
	b.ReportAllocs()
	for b.Loop() {
		parseLinks(l, q, c, a, s)
	}
}
