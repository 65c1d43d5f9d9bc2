package format

import "testing"

func TestSanitize(t *testing.T) {
	tests := []struct {
		name string
		in   string
		max  int
		want string
	}{
		{"plain", "nginx", 0, "nginx"},
		{"escape sequence", "evil\x1b[2Jclear", 0, "evil?[2Jclear"},
		{"newline and tab", "a\nb\tc", 0, "a b c"},
		{"C1 control", "a\u009bb", 0, "a?b"},
		{"bidi override", "abc\u202edef", 0, "abc?def"},
		{"invalid utf8", "a\xffb", 0, "a\uFFFDb"},
		{"cut", "abcdefgh", 5, "abcd…"},
		{"exact length", "abcde", 5, "abcde"},
		{"unicode kept", "café", 0, "café"},
		{"DEL", "a\x7fb", 0, "a?b"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Sanitize(tc.in, tc.max); got != tc.want {
				t.Errorf("Sanitize(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
			}
		})
	}
}

func TestSanitizeLines(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"one line", "one line"},
		{"error\nadvice", "error\nadvice"},
		{"evil\x1b[2J\n\tindented\r\n", "evil?[2J\n indented \n"},
		{"a\u202eb\nc\xffd", "a?b\nc\uFFFDd"},
	} {
		if got := SanitizeLines(tc.in); got != tc.want {
			t.Errorf("SanitizeLines(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestRate(t *testing.T) {
	tests := []struct {
		bps  float64
		u    Units
		want string
	}{
		{0, Units{}, "0b/s"},
		{125, Units{}, "1.00kb/s"},
		{1_250_000, Units{}, "10.0Mb/s"},
		{125_000_000, Units{}, "1.00Gb/s"},
		{1 << 20, Units{Bytes: true, IEC: true}, "1.00MiB/s"},
		{999, Units{Bytes: true}, "999B/s"},
	}
	for _, tc := range tests {
		if got := Rate(tc.bps, tc.u); got != tc.want {
			t.Errorf("Rate(%v, %+v) = %q, want %q", tc.bps, tc.u, got, tc.want)
		}
	}
}

func FuzzSanitize(f *testing.F) {
	f.Add("plain", 10)
	f.Add("\x1b[31mred\x00", 3)
	f.Fuzz(func(t *testing.T, s string, max int) {
		out := Sanitize(s, max%200)
		for _, r := range out {
			if r < 0x20 || (r >= 0x7f && r < 0xa0) {
				t.Fatalf("control rune %U in %q", r, out)
			}
		}
	})
}

func TestCPU(t *testing.T) {
	for _, tc := range []struct {
		cores float64
		want  string
	}{
		{0, "0.0%"}, {0.0004, "0.0%"}, {0.021, "2.1%"}, {0.0994, "9.9%"}, {0.0996, "10%"},
		{0.734, "73%"}, {1, "100%"}, {1.734, "173%"},
	} {
		if got := CPU(tc.cores); got != tc.want {
			t.Errorf("CPU(%v) = %q, want %q", tc.cores, got, tc.want)
		}
	}
}
