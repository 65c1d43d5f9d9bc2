package output

import (
	"errors"
	"math"
	"strconv"
	"unicode/utf8"
)

// jsonEnc appends JSON to a reused buffer without reflection, for the
// records written at every step (links' NDJSON). It writes what
// encoding/json's Marshal writes for the same record, byte for byte: the
// same escaping of strings (HTML characters, U+2028 and U+2029, invalid
// UTF-8 as U+FFFD), the same float formatting, nil slices and pointers as
// null. TestLinksJSONMatchesMarshal and FuzzJSONEncoder hold it to that.
type jsonEnc struct {
	b []byte
	// first is set right after an object or array opens: the next member
	// or element needs no comma.
	first bool
	err   error
}

// errJSONFloat is a NaN or an infinity, which JSON cannot hold.
var errJSONFloat = errors.New("json: unsupported value: NaN or Inf")

func (e *jsonEnc) reset() {
	e.b, e.first, e.err = e.b[:0], false, nil
}

func (e *jsonEnc) sep() {
	if !e.first {
		e.b = append(e.b, ',')
	}
	e.first = false
}

func (e *jsonEnc) open(c byte) {
	e.b = append(e.b, c)
	e.first = true
}

func (e *jsonEnc) close(c byte) {
	e.b = append(e.b, c)
	e.first = false
}

// key starts an object member; k is a plain ASCII name.
func (e *jsonEnc) key(k string) {
	e.sep()
	e.b = append(e.b, '"')
	e.b = append(e.b, k...)
	e.b = append(e.b, '"', ':')
	e.first = false
}

// elem starts an array element.
func (e *jsonEnc) elem() { e.sep() }

func (e *jsonEnc) null() { e.b = append(e.b, "null"...) }

func (e *jsonEnc) str(k, v string) {
	e.key(k)
	e.b = appendJSONString(e.b, v)
}

func (e *jsonEnc) u64(k string, v uint64) {
	e.key(k)
	e.b = strconv.AppendUint(e.b, v, 10)
}

func (e *jsonEnc) int(k string, v int) {
	e.key(k)
	e.b = strconv.AppendInt(e.b, int64(v), 10)
}

func (e *jsonEnc) bool(k string, v bool) {
	e.key(k)
	e.b = strconv.AppendBool(e.b, v)
}

func (e *jsonEnc) f64(k string, v float64) {
	e.key(k)
	e.float(v)
}

func (e *jsonEnc) float(v float64) {
	b, ok := appendJSONFloat(e.b, v)
	if !ok && e.err == nil {
		e.err = errJSONFloat
	}
	e.b = b
}

// pu64, pf64 and pstr write a pointer's value, null for nil; strs a
// slice of strings, null for nil.
func (e *jsonEnc) pu64(k string, v *uint64) {
	object(e, k, v, func(x *uint64) { e.b = strconv.AppendUint(e.b, *x, 10) })
}

func (e *jsonEnc) pf64(k string, v *float64) {
	object(e, k, v, func(x *float64) { e.float(*x) })
}

func (e *jsonEnc) pstr(k string, v *string) {
	object(e, k, v, func(x *string) { e.b = appendJSONString(e.b, *x) })
}

func (e *jsonEnc) strs(k string, v []string) {
	list(e, k, v, func(x *string) { e.b = appendJSONString(e.b, *x) })
}

// list writes member k as an array of v's elements, each by one (null
// for a nil slice).
func list[T any](e *jsonEnc, k string, v []T, one func(*T)) {
	e.key(k)
	if v == nil {
		e.null()
		return
	}
	e.open('[')
	for i := range v {
		e.elem()
		one(&v[i])
	}
	e.close(']')
}

// object writes member k as the object v points to, by one (null for nil).
func object[T any](e *jsonEnc, k string, v *T, one func(*T)) {
	e.key(k)
	if v == nil {
		e.null()
		return
	}
	one(v)
}

// appendJSONFloat appends f as encoding/json writes a float64: the
// shortest decimal that reads back as f, in exponent form below 1e-6 and
// from 1e21 up (with a one-digit negative exponent written as e-7, not
// e-07). It reports false for NaN and the infinities, appending nothing.
func appendJSONFloat(b []byte, f float64) ([]byte, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return b, false
	}
	format := byte('f')
	if a := math.Abs(f); a != 0 && (a < 1e-6 || a >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, true
}

const hexDigits = "0123456789abcdef"

// jsonPlain marks the ASCII bytes a JSON string holds as they are:
// printable, and neither a quote, a backslash nor one of the HTML
// characters <, > and & (which encoding/json escapes by default).
var jsonPlain = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = true
	}
	for _, c := range `"\<>&` {
		t[c] = false
	}
	return t
}()

// appendJSONString appends s as a quoted JSON string.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	done := 0 // s[:done] is in b
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if jsonPlain[c] {
				i++
				continue
			}
			b = append(b, s[done:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default: // other control characters and <, >, &
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			done = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[done:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[done:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		done = i
	}
	b = append(b, s[done:]...)
	return append(b, '"')
}
