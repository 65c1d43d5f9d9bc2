package links

import (
	"bytes"
	"errors"
	"fmt"

	"netriage/triage"
)

// The parsers of the stack counters are pure and allocate only what they
// return. Their errors name the file, the row and the column, never the
// file's contents: the files are the kernel's, but a fixture or a future
// kernel could hold anything.

// softnetMinColumns is the oldest layout accepted: processed, dropped,
// time_squeeze, five unused columns and cpu_collision (kernels before
// 2.6.35). 2.6.35 added received_rps (10), 3.11 flow_limit_count (11),
// 5.10 the backlog length and the CPU number (13), 6.x input_qlen and
// process_qlen (15). Columns beyond those are ignored.
const softnetMinColumns = 9

// parseSoftnet parses /proc/net/softnet_stat into dst[:0]: one row per
// online CPU, each column a hexadecimal number. The CPU number is the
// 13th column where the kernel prints it, else the row's position.
func parseSoftnet(b []byte, dst []triage.SoftnetCPU) ([]triage.SoftnetCPU, error) {
	out := dst[:0]
	row := 0
	for line := range bytes.Lines(b) {
		line = bytes.TrimRight(line, "\n")
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var cols [15]uint64
		n := 0
		for f := range bytes.FieldsSeq(line) {
			v, ok := parseHex(f)
			if !ok {
				return out, fmt.Errorf("softnet_stat: row %d, column %d is not a hexadecimal number", row+1, n+1)
			}
			if n < len(cols) {
				cols[n] = v
			}
			n++
		}
		if n < softnetMinColumns {
			return out, fmt.Errorf("softnet_stat: row %d has %d columns, want at least %d", row+1, n, softnetMinColumns)
		}
		c := triage.SoftnetCPU{CPU: row, Processed: cols[0], Dropped: cols[1], TimeSqueeze: cols[2]}
		if n >= 10 {
			c.ReceivedRPS = cols[9]
		}
		if n >= 11 {
			c.FlowLimitCount = cols[10]
		}
		if n >= 13 {
			c.BacklogLen = cols[11]
			if cols[12] > 1<<20 {
				return out, fmt.Errorf("softnet_stat: row %d, column 13 is not a CPU number", row+1)
			}
			c.CPU = int(cols[12])
		}
		out = append(out, c)
		row++
	}
	if row == 0 {
		return out, errors.New("softnet_stat: no rows")
	}
	return out, nil
}

// parseHex parses a hexadecimal number of at most 16 digits.
func parseHex(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 16 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		v = v<<4 | uint64(d)
	}
	return v, true
}

// parseDec parses a decimal unsigned number that fits in 64 bits.
func parseDec(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if v > (^uint64(0)-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	return v, true
}

// protoField is one counter parseProto looks for: its section (the line
// prefix without the colon, or "" for snmp6's one-counter lines), its
// name, and where it goes.
type protoField struct {
	section, name string
	dst           func(p *triage.ProtoCounters) *uint64
}

// snmpFields are the counters of /proc/net/snmp and /proc/net/netstat.
var snmpFields = []protoField{
	{"Tcp", "RetransSegs", func(p *triage.ProtoCounters) *uint64 { return &p.TCPRetransSegs }},
	{"Udp", "RcvbufErrors", func(p *triage.ProtoCounters) *uint64 { return &p.UDPRcvbufErrors }},
	{"Udp", "SndbufErrors", func(p *triage.ProtoCounters) *uint64 { return &p.UDPSndbufErrors }},
	{"Udp", "InErrors", func(p *triage.ProtoCounters) *uint64 { return &p.UDPInErrors }},
	{"Ip", "InDiscards", func(p *triage.ProtoCounters) *uint64 { return &p.IPInDiscards }},
}

var netstatFields = []protoField{
	{"TcpExt", "TCPTimeouts", func(p *triage.ProtoCounters) *uint64 { return &p.TCPTimeouts }},
	{"TcpExt", "ListenOverflows", func(p *triage.ProtoCounters) *uint64 { return &p.ListenOverflows }},
	{"TcpExt", "ListenDrops", func(p *triage.ProtoCounters) *uint64 { return &p.ListenDrops }},
	{"TcpExt", "TCPBacklogDrop", func(p *triage.ProtoCounters) *uint64 { return &p.TCPBacklogDrop }},
}

var snmp6Fields = []protoField{
	{"", "Udp6RcvbufErrors", func(p *triage.ProtoCounters) *uint64 { return &p.UDP6RcvbufErrors }},
	{"", "Udp6SndbufErrors", func(p *triage.ProtoCounters) *uint64 { return &p.UDP6SndbufErrors }},
	{"", "Udp6InErrors", func(p *triage.ProtoCounters) *uint64 { return &p.UDP6InErrors }},
	{"", "Ip6InDiscards", func(p *triage.ProtoCounters) *uint64 { return &p.IP6InDiscards }},
}

// parseProto fills p from the snmp, netstat and snmp6 files (snmp6 may be
// nil: IPv6 disabled). A counter a file does not have is added to
// p.Missing; a file that breaks its own layout (a values line without a
// header, a header and values of different lengths, a counter that is not
// a number) is an error.
func parseProto(snmp, netstat, snmp6 []byte, p *triage.ProtoCounters) error {
	*p = triage.ProtoCounters{}
	var found [16]bool
	if err := parsePairs("snmp", snmp, snmpFields, p, found[:len(snmpFields)]); err != nil {
		return err
	}
	if err := parsePairs("netstat", netstat, netstatFields, p, found[len(snmpFields):len(snmpFields)+len(netstatFields)]); err != nil {
		return err
	}
	missing := func(fields []protoField, seen []bool) {
		for i, f := range fields {
			if !seen[i] {
				p.Missing = append(p.Missing, f.section+" "+f.name)
			}
		}
	}
	missing(snmpFields, found[:len(snmpFields)])
	missing(netstatFields, found[len(snmpFields):len(snmpFields)+len(netstatFields)])
	if snmp6 == nil {
		p.Missing = append(p.Missing, "snmp6")
		return nil
	}
	seen6 := found[len(snmpFields)+len(netstatFields):]
	if err := parseSNMP6(snmp6, p, seen6[:len(snmp6Fields)]); err != nil {
		return err
	}
	for i, f := range snmp6Fields {
		if !seen6[i] {
			p.Missing = append(p.Missing, f.name)
		}
	}
	return nil
}

// parsePairs reads the header/values line pairs of snmp and netstat
// ("Tcp: RtoAlgorithm RtoMin ..." then "Tcp: 1 200 ...").
func parsePairs(file string, b []byte, fields []protoField, p *triage.ProtoCounters, found []bool) error {
	var header []byte
	var section []byte
	lineNo := 0
	for line := range bytes.Lines(b) {
		lineNo++
		line = bytes.TrimRight(line, "\n")
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			if len(bytes.TrimSpace(line)) == 0 {
				continue
			}
			return fmt.Errorf("%s: line %d has no section name", file, lineNo)
		}
		sec, rest := line[:colon], line[colon+1:]
		if header == nil || !bytes.Equal(sec, section) {
			header, section = rest, sec
			continue
		}
		if err := matchPairs(file, lineNo, sec, header, rest, fields, p, found); err != nil {
			return err
		}
		header, section = nil, nil
	}
	if header != nil {
		return fmt.Errorf("%s: the last header line has no values line", file)
	}
	return nil
}

func matchPairs(file string, lineNo int, sec, header, values []byte, fields []protoField, p *triage.ProtoCounters, found []bool) error {
	wanted := false
	for _, f := range fields {
		if string(sec) == f.section {
			wanted = true
			break
		}
	}
	hs, vs := header, values
	col := 0
	for {
		var h, v []byte
		h, hs = nextField(hs)
		v, vs = nextField(vs)
		if h == nil && v == nil {
			return nil
		}
		col++
		if h == nil || v == nil {
			return fmt.Errorf("%s: line %d has a different number of values than its header", file, lineNo)
		}
		if !wanted {
			continue
		}
		for i, f := range fields {
			if string(sec) != f.section || string(h) != f.name {
				continue
			}
			n, ok := parseDec(v)
			if !ok {
				return fmt.Errorf("%s: %s %s (line %d, column %d) is not a counter", file, f.section, f.name, lineNo, col)
			}
			*f.dst(p) = n
			found[i] = true
		}
	}
}

// nextField returns the first space-separated field of b and the rest;
// nil when there is none.
func nextField(b []byte) (field, rest []byte) {
	i := 0
	for i < len(b) && (b[i] == ' ' || b[i] == '\t') {
		i++
	}
	if i == len(b) {
		return nil, nil
	}
	j := i
	for j < len(b) && b[j] != ' ' && b[j] != '\t' {
		j++
	}
	return b[i:j], b[j:]
}

// parseSNMP6 reads /proc/net/snmp6's "Name value" lines.
func parseSNMP6(b []byte, p *triage.ProtoCounters, found []bool) error {
	lineNo := 0
	for line := range bytes.Lines(b) {
		lineNo++
		name, rest := nextField(line)
		if name == nil {
			continue
		}
		val, _ := nextField(rest)
		for i, f := range snmp6Fields {
			if string(name) != f.name {
				continue
			}
			n, ok := parseDec(bytes.TrimRight(val, "\n"))
			if !ok {
				return fmt.Errorf("snmp6: %s (line %d) is not a counter", f.name, lineNo)
			}
			*f.dst(p) = n
			found[i] = true
		}
	}
	return nil
}

// parseSysctlUint parses a sysctl file holding one unsigned number.
func parseSysctlUint(what string, b []byte) (uint64, error) {
	v, ok := parseDec(bytes.TrimSpace(b))
	if !ok {
		return 0, fmt.Errorf("%s: not an unsigned number", what)
	}
	return v, nil
}

// parseConntrackStat sums insert_failed, drop and early_drop over the
// per-CPU rows of /proc/net/stat/nf_conntrack: a header line of column
// names (they differ between kernels), then one row of hexadecimal
// numbers per possible CPU.
func parseConntrackStat(b []byte, c *triage.ConntrackSample) error {
	c.InsertFailed, c.Drop, c.EarlyDrop = 0, 0, 0
	var header []byte
	idx := [3]int{-1, -1, -1}
	rows := 0
	lineNo := 0
	for line := range bytes.Lines(b) {
		lineNo++
		line = bytes.TrimRight(line, "\n")
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if header == nil {
			header = line
			col := 0
			for f := range bytes.FieldsSeq(line) {
				switch string(f) {
				case "insert_failed":
					idx[0] = col
				case "drop":
					idx[1] = col
				case "early_drop":
					idx[2] = col
				}
				col++
			}
			if idx[0] < 0 && idx[1] < 0 && idx[2] < 0 {
				return errors.New("nf_conntrack stat: the header names none of insert_failed, drop, early_drop")
			}
			continue
		}
		col := 0
		var vals [3]uint64
		for f := range bytes.FieldsSeq(line) {
			for k, i := range idx {
				if i != col {
					continue
				}
				v, ok := parseHex(f)
				if !ok {
					return fmt.Errorf("nf_conntrack stat: line %d, column %d is not a hexadecimal number", lineNo, col+1)
				}
				vals[k] = v
			}
			col++
		}
		if m := max(idx[0], idx[1], idx[2]); col <= m {
			return fmt.Errorf("nf_conntrack stat: line %d has %d columns, its header more", lineNo, col)
		}
		c.InsertFailed += vals[0]
		c.Drop += vals[1]
		c.EarlyDrop += vals[2]
		rows++
	}
	if rows == 0 {
		return errors.New("nf_conntrack stat: no CPU rows")
	}
	return nil
}

// ethGStringLen is ETH_GSTRING_LEN: each name of a string set takes 32
// bytes, NUL-padded.
const ethGStringLen = 32

// parseNICStrings splits an ETHTOOL_GSTRINGS payload of n names into
// names and their loss classes. Names are cut at the first NUL.
func parseNICStrings(data []byte, n int) ([]string, []triage.NICClass, error) {
	if n < 0 || n > len(data)/ethGStringLen {
		return nil, nil, fmt.Errorf("ethtool strings: %d names do not fit in %d bytes", n, len(data))
	}
	names := make([]string, n)
	classes := make([]triage.NICClass, n)
	for i := range n {
		s := data[i*ethGStringLen : (i+1)*ethGStringLen]
		if z := bytes.IndexByte(s, 0); z >= 0 {
			s = s[:z]
		}
		names[i] = string(s)
		classes[i] = triage.ClassifyNICCounter(names[i])
	}
	return names, classes, nil
}
