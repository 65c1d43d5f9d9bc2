package ranges

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"

	"netriage/sources/privs"
	"netriage/triage/egress"
)

// Providers whose files Parse reads.
const (
	AWS    = egress.ProviderAWS
	Google = egress.ProviderGoogle
	Azure  = egress.ProviderAzure
)

// Limits bound what one file may hold.
type Limits struct {
	// MaxFileBytes caps the file's size.
	MaxFileBytes int64
	// MaxPrefixes caps the prefixes of one file.
	MaxPrefixes int
}

// DefaultLimits are 32 MiB and 500,000 prefixes: the published files are a
// few MiB and tens of thousands of prefixes (Azure's, the largest, repeats
// each prefix under several tags).
func DefaultLimits() Limits { return Limits{MaxFileBytes: 32 << 20, MaxPrefixes: 500_000} }

// maxDepth caps the nesting of values the walker skips or reads.
const maxDepth = 32

// maxString caps a region's, service's or name's length.
const maxString = 256

// Opener opens a file the user named; the command passes privs.OpenUser.
type Opener func(path string) (*os.File, error)

// ErrFormat is wrapped by every error about a file's content.
var ErrFormat = errors.New("not a valid ranges file")

// Error is a problem at a place in a file.
type Error struct {
	File         string
	Line, Column int
	// Offset is the byte offset from the start of the file.
	Offset int64
	Msg    string
}

// Error returns "ranges file F: line L, column C (byte O): msg".
func (e *Error) Error() string {
	return fmt.Sprintf("ranges file %s: line %d, column %d (byte %d): %s", e.File, e.Line, e.Column, e.Offset, e.Msg)
}

// Unwrap returns ErrFormat.
func (e *Error) Unwrap() error { return ErrFormat }

// LoadUser loads the file at path with the user's own rights
// (privs.OpenUser).
func LoadUser(path, provider string, lim Limits) ([]egress.CloudRange, error) {
	return Load(path, provider, privs.OpenUser, lim)
}

// Load reads the file at path, opened with open, in provider's format.
func Load(path, provider string, open Opener, lim Limits) ([]egress.CloudRange, error) {
	if err := checkProvider(provider); err != nil {
		return nil, fmt.Errorf("ranges file %s: %w", path, err)
	}
	f, err := open(path)
	if err != nil {
		return nil, fmt.Errorf("ranges file %s: %w", path, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, lim.MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("ranges file %s: %w", path, err)
	}
	return Parse(path, provider, data, lim)
}

func checkProvider(p string) error {
	switch p {
	case AWS, Google, Azure:
		return nil
	}
	return fmt.Errorf("provider is not one of %s", strings.Join(egress.Providers(), ", "))
}

// Parse reads data, the content of the file name, in provider's format
// ("aws", "gcp", "azure"). It keeps the prefixes in file order, with the
// provider, service, region and (AWS) network border group; strings repeated
// across prefixes are shared.
func Parse(name, provider string, data []byte, lim Limits) ([]egress.CloudRange, error) {
	if err := checkProvider(provider); err != nil {
		return nil, fmt.Errorf("ranges file %s: %w", name, err)
	}
	if int64(len(data)) > lim.MaxFileBytes {
		return nil, fmt.Errorf("ranges file %s: %w: larger than %d bytes; is this the right file?", name, ErrFormat, lim.MaxFileBytes)
	}
	w := &walker{name: name, data: data, dec: json.NewDecoder(bytes.NewReader(data)), lim: lim, provider: provider,
		interned: map[string]string{}}
	w.dec.UseNumber()
	var err error
	switch provider {
	case AWS:
		err = w.aws()
	case Google:
		err = w.google()
	case Azure:
		err = w.azure()
	}
	if err != nil {
		return nil, err
	}
	if _, err := w.dec.Token(); err != io.EOF {
		return nil, w.errAt(w.dec.InputOffset(), "data after the top-level object")
	}
	return w.out, nil
}

// walker reads one file's JSON token by token.
type walker struct {
	name     string
	data     []byte
	dec      *json.Decoder
	lim      Limits
	provider string
	depth    int
	out      []egress.CloudRange
	count    int
	interned map[string]string
	// path is where the walker is, as keys and indexes, for messages; it
	// is turned into text only for an error.
	path []step
}

// schemaKeys are the keys of the three formats that messages may name;
// any other key of a file is never quoted.
var schemaKeys = map[string]bool{
	"prefixes": true, "ipv6_prefixes": true, "ip_prefix": true, "ipv6_prefix": true, "region": true, "service": true,
	"network_border_group": true, "ipv4Prefix": true, "ipv6Prefix": true, "scope": true, "values": true, "name": true,
	"properties": true, "systemService": true, "addressPrefixes": true,
}

// step is one level of the path: a key, or an index into an array.
type step struct {
	key string
	idx int // -1 for a key
}

// where returns the path with field appended, "prefixes[3].ip_prefix", or
// "the file" at the top.
func (w *walker) where(field string) string {
	var b strings.Builder
	for _, s := range w.path {
		if s.idx >= 0 {
			fmt.Fprintf(&b, "[%d]", s.idx)
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s.key)
	}
	if field != "" {
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(field)
	}
	if b.Len() == 0 {
		return "the file"
	}
	return b.String()
}

// errAt returns an Error at byte offset off.
func (w *walker) errAt(off int64, format string, a ...any) error {
	off = min(max(off, 0), int64(len(w.data)))
	line, col := 1, 1
	for _, b := range w.data[:off] {
		if b == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return &Error{File: w.name, Line: line, Column: col, Offset: off, Msg: fmt.Sprintf(format, a...)}
}

// token reads the next token; a decoding error becomes an Error that says
// what the decoder found wrong without quoting it.
func (w *walker) token() (json.Token, int64, error) {
	// The offset is where the previous token ended: step over the
	// separators to where this one starts.
	off := w.skipSeparators(w.dec.InputOffset())
	t, err := w.dec.Token()
	if err == nil {
		return t, off, nil
	}
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		// Offset counts the bytes read up to and including the bad one.
		return nil, off, w.errAt(se.Offset-1, "not valid JSON")
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return nil, off, w.errAt(int64(len(w.data)), "the file ends in the middle of the JSON (truncated?)")
	}
	return nil, off, w.errAt(off, "not valid JSON")
}

// enter counts one more level of nesting.
func (w *walker) enter(off int64) error {
	if w.depth++; w.depth > maxDepth {
		return w.errAt(off, "nested deeper than %d levels", maxDepth)
	}
	return nil
}

// object reads an object, calling field for each key with the key on the
// path; field must consume the value.
func (w *walker) object(field func(key string, off int64) error) error {
	t, off, err := w.token()
	if err != nil {
		return err
	}
	if t != json.Delim('{') {
		return w.errAt(off, "%s: want an object, found %s", w.where(""), kindOf(t))
	}
	if err := w.enter(off); err != nil {
		return err
	}
	for w.dec.More() {
		k, koff, err := w.token()
		if err != nil {
			return err
		}
		key, ok := k.(string)
		if !ok {
			return w.errAt(koff, "%s: want a key", w.where(""))
		}
		name := key
		if !schemaKeys[key] {
			name = "(another key)"
		}
		w.path = append(w.path, step{name, -1})
		if err := field(key, koff); err != nil {
			return err
		}
		w.path = w.path[:len(w.path)-1]
	}
	if _, _, err := w.token(); err != nil { // '}'
		return err
	}
	w.depth--
	return nil
}

// array reads an array, calling elem for each element with its index on
// the path; elem must consume it.
func (w *walker) array(elem func() error) error {
	t, off, err := w.token()
	if err != nil {
		return err
	}
	if t != json.Delim('[') {
		return w.errAt(off, "%s: want an array, found %s", w.where(""), kindOf(t))
	}
	if err := w.enter(off); err != nil {
		return err
	}
	for i := 0; w.dec.More(); i++ {
		w.path = append(w.path, step{"", i})
		if err := elem(); err != nil {
			return err
		}
		w.path = w.path[:len(w.path)-1]
	}
	if _, _, err := w.token(); err != nil { // ']'
		return err
	}
	w.depth--
	return nil
}

// decode decodes the next value whole into v (a struct of strings) and
// returns the offset where it starts.
func (w *walker) decode(v any) (int64, error) {
	start := w.skipSeparators(w.dec.InputOffset())
	err := w.dec.Decode(v)
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case err == nil:
		return start, nil
	case errors.As(err, &te):
		// The error's own offset is not where the wrong value is (it is
		// past the enclosing object): name the entry's start and the
		// field, a key of the format.
		want := "a string"
		if te.Field == "" {
			want = "an object"
		}
		return start, w.errAt(start, "%s: want %s, found %s", w.where(te.Field), want, article(te.Value))
	case errors.As(err, &se):
		return start, w.errAt(se.Offset-1, "not valid JSON")
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return start, w.errAt(int64(len(w.data)), "the file ends in the middle of the JSON (truncated?)")
	}
	return start, w.errAt(start, "not valid JSON")
}

// article names a JSON kind as UnmarshalTypeError gives it ("number").
func article(kind string) string {
	switch kind {
	case "number", "string", "bool":
		return "a " + kind
	case "array", "object":
		return "an " + kind
	}
	return "another value"
}

// skipSeparators returns the offset of the first byte from off that is no
// white space, ':' or ','.
func (w *walker) skipSeparators(off int64) int64 {
	for off < int64(len(w.data)) && strings.IndexByte(" \t\r\n:,", w.data[off]) >= 0 {
		off++
	}
	return off
}

// parsePrefix parses s, the field key of the value that starts at off;
// family is 4, 6 or 0 (either). It counts the prefix against the limit.
func (w *walker) parsePrefix(s string, off int64, key string, family int) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	switch {
	case err != nil:
		return netip.Prefix{}, w.errAt(off, "%s: not a CIDR prefix", w.where(key))
	case family == 4 && !p.Addr().Is4(), family == 6 && !p.Addr().Is6():
		return netip.Prefix{}, w.errAt(off, "%s: not an IPv%d prefix", w.where(key), family)
	}
	if w.count++; w.count > w.lim.MaxPrefixes {
		return netip.Prefix{}, w.errAt(off, "more than %d prefixes", w.lim.MaxPrefixes)
	}
	return p, nil
}

// long returns an error if one of ss is longer than maxString.
func (w *walker) long(off int64, ss ...string) error {
	for _, s := range ss {
		if len(s) > maxString {
			return w.errAt(off, "%s: a value longer than %d bytes", w.where(""), maxString)
		}
	}
	return nil
}

// intern returns s, shared with the earlier equal strings of the file.
func (w *walker) intern(s string) string {
	if v, ok := w.interned[s]; ok {
		return v
	}
	if len(w.interned) < 100_000 {
		w.interned[s] = s
	}
	return s
}

// str reads the string at the path (null reads as ""), interned.
func (w *walker) str() (string, int64, error) {
	t, off, err := w.token()
	if err != nil {
		return "", off, err
	}
	switch v := t.(type) {
	case nil:
		return "", off, nil
	case string:
		if len(v) > maxString {
			return "", off, w.errAt(off, "%s: longer than %d bytes", w.where(""), maxString)
		}
		return w.intern(v), off, nil
	}
	return "", off, w.errAt(off, "%s: want a string, found %s", w.where(""), kindOf(t))
}

// skip reads and drops one value of any kind.
func (w *walker) skip() error {
	t, off, err := w.token()
	if err != nil {
		return err
	}
	d, ok := t.(json.Delim)
	if !ok {
		return nil
	}
	if d == '}' || d == ']' {
		return w.errAt(off, "not valid JSON")
	}
	if err := w.enter(off); err != nil {
		return err
	}
	for w.dec.More() {
		if d == '{' {
			if _, _, err := w.token(); err != nil { // key
				return err
			}
		}
		if err := w.skip(); err != nil {
			return err
		}
	}
	if _, _, err := w.token(); err != nil {
		return err
	}
	w.depth--
	return nil
}

// prefix reads the prefix string at the path and counts it; family is 4,
// 6 or 0 (either).
func (w *walker) prefix(family int) (netip.Prefix, error) {
	s, off, err := w.str()
	if err != nil {
		return netip.Prefix{}, err
	}
	return w.parsePrefix(s, off, "", family)
}

// kindOf names a token's JSON kind for a message.
func kindOf(t json.Token) string {
	switch v := t.(type) {
	case json.Delim:
		switch v {
		case '{':
			return "an object"
		case '[':
			return "an array"
		}
		return "the end of a list"
	case string:
		return "a string"
	case json.Number, float64:
		return "a number"
	case bool:
		return "true or false"
	case nil:
		return "null"
	}
	return "another value"
}
