// Package names names remote addresses by the names applications asked
// for: the A and AAAA answers of DNS responses and the server name (SNI) of
// TLS ClientHellos seen in captured packets. It is pure: the capture side
// hands it payloads and packet times, and it keeps what it learned in a
// bounded Cache.
//
// # What is parsed
//
// ParseDNS reads one DNS message over UDP, or the length-prefixed messages
// of one TCP segment. Only standard-query responses without error (QR=1,
// opcode QUERY, RCODE=0) with one question of class IN are used; of their
// answer section, A and AAAA records of class IN, reached from the question
// through CNAME records of the same section. The authority and additional
// sections are not read (an address there was not asked for), nor the
// address hints of HTTPS and SVCB records. A DNAME comes with the CNAME the
// server synthesised from it, which is followed like any other.
//
// ParseClientHello reads the first TLS record of a TCP payload when it is a
// ClientHello and returns its server_name extension's host_name.
//
// # Names
//
// A name is lower-cased, has no trailing dot, and is made of the bytes
// a-z, 0-9, '-', '_' and '*' in labels joined by '.'. A name with any
// other byte (a control character, a space, a byte of UTF-8, a '.' inside
// a label) is refused, not repaired: ParseDNS still appends the answer,
// with Name and Via empty, and ParseClientHello returns ("", true), so that
// Cache.Add and Cache.AddSNI count it in Stats.Refused. Internationalised
// names travel as punycode ("xn--…") and pass.
//
// # Bounds
//
// Every loop is bounded by the input's length or a constant: a name is at
// most 255 bytes on the wire (MaxNameWire) and follows at most
// MaxPointers compression pointers, each of which must point backwards
// (before itself, after the header), so a pointer loop is impossible and
// a forward pointer is an error; at most MaxRecords answer records are read
// per message (the rest are ignored, whatever ANCOUNT says); a CNAME chain
// is followed at most MaxChain steps. ParseDNS keeps its scratch on the
// stack: what it allocates is the Name and Via strings of the answers it
// returns (one per name, shared by that name's answers) and dst's growth.
// ParseClientHello reads at most one TLS record and allocates only the name
// it returns.
//
// # Cache
//
// Cache maps an address to the name most recently answered for it, and
// separately to the server name most recently seen in a ClientHello towards
// it. A DNS name lives for its TTL, raised to MinTTL and lowered to MaxTTL;
// a server name lives SNILifetime. The cache holds at most its capacity of
// addresses; adding one more evicts the least recently added or looked-up
// address in O(1) (a doubly linked list over a slab of entries, indexed by
// a map). It is safe for one goroutine adding while others look up: every
// method takes one sync.Mutex.
//
// # What is not handled
//
// DNS over HTTPS, TLS or QUIC (their contents are encrypted); the real name
// behind Encrypted Client Hello (the outer, public name is returned); QUIC
// Initial packets (their ClientHello is encrypted with keys derived from
// the connection ID: not read here); a ClientHello split over TCP segments
// or TLS records (only the bytes of the first segment's first record are
// read); a TCP segment that continues a DNS message begun in an earlier one
// (segments are not reassembled); mDNS and LLMNR.
package names
