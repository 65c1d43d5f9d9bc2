package format

import (
	"testing"
	"unicode/utf8"
)

func TestFit(t *testing.T) {
	tests := []struct {
		in    string
		width int
		want  string
	}{
		{"abc", 5, "abc  "},
		{"abcdef", 4, "abc…"},
		{"abcd", 4, "abcd"},
		{"\x1b[2Jx", 6, "?[2Jx "},
		{"日本", 4, "??  "},
		{"a\u0301b", 4, "a?b "},
		{"x", 0, ""},
	}
	for _, tc := range tests {
		if got := Fit(tc.in, tc.width); got != tc.want {
			t.Errorf("Fit(%q, %d) = %q, want %q", tc.in, tc.width, got, tc.want)
		}
	}
	if got := FitRight("ab", 4); got != "  ab" {
		t.Errorf("FitRight = %q", got)
	}
	if got := FitMiddle("abcdefghij", 7); got != "abc…hij" {
		t.Errorf("FitMiddle = %q", got)
	}
}

func TestSparklineAndBar(t *testing.T) {
	if got := Sparkline([]float64{0, 1, 2, 4}, 6, 0); got != "   ▂▄█" {
		t.Errorf("Sparkline = %q", got)
	}
	if got := Sparkline([]float64{1, 2, 3}, 2, 3); utf8.RuneCountInString(got) != 2 {
		t.Errorf("Sparkline width = %q", got)
	}
	tests := []struct {
		r    float64
		w    int
		want string
	}{
		{0, 4, "····"},
		{1, 4, "████"},
		{0.5, 4, "██··"},
		{0.3, 5, "█▌···"},
		{2, 3, "███"},
		{-1, 2, "··"},
	}
	for _, tc := range tests {
		if got := Bar(tc.r, tc.w, '·'); got != tc.want {
			t.Errorf("Bar(%v, %d) = %q, want %q", tc.r, tc.w, got, tc.want)
		}
	}
}

func TestPlural(t *testing.T) {
	tests := []struct {
		n    int
		one  string
		many []string
		want string
	}{
		{0, "link", nil, "0 links"},
		{1, "link", nil, "1 link"},
		{2, "link", nil, "2 links"},
		{1, "process", []string{"processes"}, "1 process"},
		{3, "process", []string{"processes"}, "3 processes"},
	}
	for _, tc := range tests {
		if got := Plural(tc.n, tc.one, tc.many...); got != tc.want {
			t.Errorf("Plural(%d, %q, %q) = %q, want %q", tc.n, tc.one, tc.many, got, tc.want)
		}
	}
}
