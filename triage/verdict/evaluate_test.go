
func TestPacketsWord(t *testing.T) {
	for n, want := range map[uint64]string{0: "0 packets", 1: "1 packet", 2: "2 packets", 13309: "13309 packets"} {
		if got := packets(n); got != want {
			t.Errorf("packets(%d) = %q, want %q", n, got, want)
		}
	}
}
