package output

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"netriage/triage"
)

// jsonTestStrings are strings encoding/json escapes in every way it has.
var jsonTestStrings = []string{
	"", "eth0", `a"b\c`, "<script>&amp;</script>", "tab\tnl\ncr\rbs\bff\f", "\x00\x01\x1f\x7f",
	"bad utf-8 \xff\xfe end", "\xe2\x80", "line\u2028para\u2029", "snow ☃ and 🦀", "veth\x1b[31m-evil\u202e",
	"\xed\xa0\x80", "2024-03-01T10:00:00.123456789Z",
}

// jsonTestFloats cover both of encoding/json's float forms and their edges.
var jsonTestFloats = []float64{
	0, math.Copysign(0, -1), 1, -1, 0.1, 1.5, 123456789.125, 1e-6, 9.99999e-7, 1e-7, 1.5e-9, 1e-300, 5e-324,
	1e20, 9.999999e20, 1e21, 1.5e21, 1e300, math.MaxFloat64, -2.5e-8, 1.0 / 3, 0.000123, 1e100,
}

// fillRandom sets every field reachable from v to a random value: nil or
// filled pointers, nil, empty or filled slices, the strings and floats
// above. A field added to a record type gets values too, so the
// comparison with encoding/json covers it without naming it.
func fillRandom(r *rand.Rand, v reflect.Value, depth int) {
	switch v.Kind() {
	case reflect.String:
		v.SetString(jsonTestStrings[r.IntN(len(jsonTestStrings))])
	case reflect.Bool:
		v.SetBool(r.IntN(2) == 0)
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt(r.Int64N(1<<40) - 1<<39)
	case reflect.Uint64, reflect.Uint32, reflect.Uint, reflect.Uint16:
		switch r.IntN(3) {
		case 0:
			v.SetUint(0)
		case 1:
			v.SetUint(r.Uint64() >> (64 - v.Type().Bits()))
		default:
			v.SetUint(uint64(r.IntN(1000)))
		}
	case reflect.Float64:
		f := jsonTestFloats[r.IntN(len(jsonTestFloats))]
		if r.IntN(3) == 0 {
			f = r.NormFloat64() * math.Pow(10, float64(r.IntN(40)-20))
		}
		v.SetFloat(f)
	case reflect.Pointer:
		if r.IntN(3) == 0 || depth > 6 {
			v.SetZero()
			return
		}
		p := reflect.New(v.Type().Elem())
		fillRandom(r, p.Elem(), depth+1)
		v.Set(p)
	case reflect.Slice:
		switch n := r.IntN(5); {
		case n == 0 || depth > 6:
			v.SetZero()
		default:
			s := reflect.MakeSlice(v.Type(), n-1, n-1)
			for i := range n - 1 {
				fillRandom(r, s.Index(i), depth+1)
			}
			v.Set(s)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			fillRandom(r, v.Field(i), depth+1)
		}
	default:
		panic("fillRandom: no rule for " + v.Kind().String() + " (" + v.Type().String() + ")")
	}
}

func linksJSON(t testing.TB, rec *LinksRecord) []byte {
	t.Helper()
	var e jsonEnc
	rec.appendJSON(&e)
	if e.err != nil {
		t.Fatalf("appendJSON: %v", e.err)
	}
	return e.b
}

func TestLinksJSONMatchesMarshal(t *testing.T) {
	r := rand.New(rand.NewPCG(12, 34))
	for i := range 3000 {
		var rec LinksRecord
		fillRandom(r, reflect.ValueOf(&rec).Elem(), 0)
		want, err := json.Marshal(rec)
		if err != nil {
			t.Fatal(err)
		}
		if got := linksJSON(t, &rec); !bytes.Equal(got, want) {
			t.Fatalf("record %d:\n got %s\nwant %s", i, got, want)
		}
	}
	// Zero values: every pointer and slice nil.
	var zero LinksRecord
	zero.Interfaces = []LinksIfaceRecord{{}}
	zero.Stack = &LinksStackRecord{Softnet: &LinksSoftnetRecord{}, Conntrack: &LinksConntrackRecord{}}
	want, _ := json.Marshal(zero)
	if got := linksJSON(t, &zero); !bytes.Equal(got, want) {
		t.Fatalf("zero record:\n got %s\nwant %s", got, want)
	}
}

// TestLinksWriterJSONMatchesMarshal runs the writer's records of the test
// samples (classes, stack, gone interfaces, hostile names) against
// encoding/json.
func TestLinksWriterJSONMatchesMarshal(t *testing.T) {
	prev, cur := linksTestSamples()
	t0 := cur.Time
	st0, st1 := linksTestStack(prev.Time, 0), linksTestStack(t0, 1)
	cur.Stack = &triage.StackStep{Sample: st1, Rates: triage.CompareStack(&st0, &st1)}
	rows := triage.CompareLinks(&prev, &cur, nil)
	cs, crows, cgone := classesSample(t0)
	for _, c := range []struct {
		s    *triage.LinksSample
		rows []triage.LinkRow
		gone map[string]time.Time
	}{{&cur, rows, map[string]time.Time{"veth9": t0}}, {cs, crows, cgone}} {
		var buf bytes.Buffer
		lw := NewLinksWriter(&buf, "json", "lab\x1b[0m")
		if err := lw.Write(c.s, c.rows, c.gone); err != nil {
			t.Fatal(err)
		}
		if err := lw.Write(c.s, c.rows, c.gone); err != nil { // the buffer reused
			t.Fatal(err)
		}
		var rec LinksRecord
		line, rest, _ := bytes.Cut(buf.Bytes(), []byte("\n"))
		if err := json.Unmarshal(line, &rec); err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(rec)
		if !bytes.Equal(line, want) {
			t.Fatalf("writer:\n got %s\nwant %s", line, want)
		}
		if second, _, _ := bytes.Cut(rest, []byte("\n")); !bytes.Equal(second, line) {
			t.Fatalf("second record differs:\n%s\n%s", second, line)
		}
	}
}

func TestJSONFloatNaN(t *testing.T) {
	for _, f := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		rec := LinksRecord{IntervalS: f}
		var e jsonEnc
		rec.appendJSON(&e)
		if e.err == nil {
			t.Errorf("%v: no error", f)
		}
		if _, err := json.Marshal(rec); err == nil {
			t.Errorf("%v: encoding/json took it", f)
		}
	}
}

func FuzzJSONEncoder(f *testing.F) {
	for i, s := range jsonTestStrings {
		f.Add(s, jsonTestFloats[i%len(jsonTestFloats)])
	}
	f.Fuzz(func(t *testing.T, s string, x float64) {
		want, _ := json.Marshal(s)
		if got := appendJSONString(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("string %q:\n got %s\nwant %s", s, got, want)
		}
		want, err := json.Marshal(x)
		got, ok := appendJSONFloat(nil, x)
		if ok != (err == nil) {
			t.Fatalf("float %v: ok %v, encoding/json %v", x, ok, err)
		}
		if ok && !bytes.Equal(got, want) {
			t.Fatalf("float %v:\n got %s\nwant %s", x, got, want)
		}
	})
}

func BenchmarkLinksWriterJSON(b *testing.B) {
	prev, cur := linksTestSamples()
	st0, st1 := linksTestStack(prev.Time, 0), linksTestStack(cur.Time, 1)
	cur.Stack = &triage.StackStep{Sample: st1, Rates: triage.CompareStack(&st0, &st1)}
	rows := triage.CompareLinks(&prev, &cur, nil)
	gone := map[string]time.Time{"veth9": cur.Time}
	lw := NewLinksWriter(io.Discard, "json", "")
	b.ReportAllocs()
	for b.Loop() {
		if err := lw.Write(&cur, rows, gone); err != nil {
			b.Fatal(err)
		}
	}
}
