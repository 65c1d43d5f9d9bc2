package names

// Bounds of a name.
const (
	// MaxNameWire is the longest name on the wire, length bytes and the
	// root label included (RFC 1035 §2.3.4); as text it is at most 253
	// bytes.
	MaxNameWire = 255
	// MaxPointers is how many compression pointers one name may follow.
	MaxPointers = 16
	maxLabel    = 63
	maxNameText = MaxNameWire - 2
)

// nameBuf holds one name as text: the longest is maxNameText bytes.
type nameBuf [MaxNameWire]byte

// hostByte says, per byte, what it becomes in a name: the byte itself
// (lower-cased), or 0 when a name holding it is refused. '.' is 0 too: it
// separates labels and may not appear inside one.
var hostByte = func() (t [256]byte) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = byte(c)
		t[c-'a'+'A'] = byte(c)
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = byte(c)
	}
	t['-'], t['_'], t['*'] = '-', '_', '*'
	return t
}()

// readName decodes the name at off in msg into buf as lower-case dotted
// text without a trailing dot. It returns the offset just past the name's
// own bytes (after its root label or its first pointer), the text's
// length, and clean: whether every label byte is one a name may hold
// (hostByte). A byte that may not is written as it is (a clean text is
// never ambiguous; an unclean one is only compared, never returned). A
// compression pointer
// must point before itself and past the header; at most MaxPointers are
// followed; the name may not exceed MaxNameWire bytes.
func readName(msg []byte, off int, buf *nameBuf) (next, n int, clean bool, err error) {
	next = -1
	clean = true
	wire := 0
	hops := 0
	pos := off
	for {
		if pos >= len(msg) {
			return 0, 0, false, errCut
		}
		l := int(msg[pos])
		switch l & 0xC0 {
		case 0x00:
			if l == 0 {
				if next < 0 {
					next = pos + 1
				}
				return next, n, clean, nil
			}
			if pos+1+l > len(msg) {
				return 0, 0, false, errLabel
			}
			wire += 1 + l
			if wire+1 > MaxNameWire {
				return 0, 0, false, errLong
			}
			if n > 0 {
				buf[n] = '.'
				n++
			}
			src, dst := msg[pos+1:pos+1+l], buf[n:n+l]
			for i, c := range src {
				h := hostByte[c]
				if h == 0 {
					clean = false
					h = c
				}
				dst[i] = h
			}
			n += l
			pos += 1 + l
		case 0xC0:
			if pos+1 >= len(msg) {
				return 0, 0, false, errCut
			}
			ptr := (l&0x3F)<<8 | int(msg[pos+1])
			if ptr >= pos || ptr < headerLen {
				return 0, 0, false, errPointer
			}
			hops++
			if hops > MaxPointers {
				return 0, 0, false, errPointers
			}
			if next < 0 {
				next = pos + 2
			}
			pos = ptr
		default: // 0x40 and 0x80: extended and reserved label types
			return 0, 0, false, errLabelType
		}
	}
}

// ValidName reports whether s is a name as this package returns them:
// 1 to 253 bytes, labels of 1 to 63 bytes of a-z, 0-9, '-', '_' or '*'
// joined by single dots, no leading or trailing dot.
func ValidName(s string) bool {
	if len(s) == 0 || len(s) > maxNameText {
		return false
	}
	label := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '.' {
			if label == 0 {
				return false
			}
			label = 0
			continue
		}
		if c == 0 || hostByte[c] != c {
			return false
		}
		label++
		if label > maxLabel {
			return false
		}
	}
	return label > 0
}

// hostName turns a host name as a client sent it (the SNI host_name) into a
// name: lower-cased, one trailing dot dropped. ok is false when the result
// is not a ValidName. It allocates the returned string only.
func hostName(b []byte) (string, bool) {
	if len(b) > 0 && b[len(b)-1] == '.' {
		b = b[:len(b)-1]
	}
	if len(b) == 0 || len(b) > maxNameText {
		return "", false
	}
	var buf nameBuf
	label := 0
	for i, c := range b {
		if c == '.' {
			if label == 0 {
				return "", false
			}
			label = 0
			buf[i] = '.'
			continue
		}
		h := hostByte[c]
		if h == 0 {
			return "", false
		}
		label++
		if label > maxLabel {
			return "", false
		}
		buf[i] = h
	}
	if label == 0 {
		return "", false
	}
	return string(buf[:len(b)]), true
}
