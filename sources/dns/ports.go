package dns

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"

	"netriage/triage/flows"
)

// IP protocol numbers with ports.
const (
	protoTCP  = 6
	protoUDP  = 17
	protoSCTP = 132
)

// Ports maps (IP protocol, port) to service names. The zero value knows no
// names; use BuiltinPorts or LoadPorts.
type Ports struct {
	tcp, udp, sctp map[uint16]string
}

// builtin is a small table of well-known services, the same for TCP and
// UDP unless noted.
var builtin = map[uint16]string{
	20: "ftp-data", 21: "ftp", 22: "ssh", 23: "telnet", 25: "smtp", 53: "domain", 67: "bootps", 68: "bootpc",
	69: "tftp", 80: "http", 88: "kerberos", 110: "pop3", 111: "sunrpc", 119: "nntp", 123: "ntp", 137: "netbios-ns",
	138: "netbios-dgm", 139: "netbios-ssn", 143: "imap", 161: "snmp", 162: "snmp-trap", 179: "bgp", 389: "ldap",
	443: "https", 445: "microsoft-ds", 465: "submissions", 500: "isakmp", 514: "syslog", 515: "printer",
	546: "dhcpv6-client", 547: "dhcpv6-server", 587: "submission", 631: "ipp", 636: "ldaps", 853: "domain-s",
	873: "rsync", 989: "ftps-data", 990: "ftps", 993: "imaps", 995: "pop3s", 1194: "openvpn", 1433: "ms-sql-s",
	1521: "oracle", 1701: "l2tp", 1812: "radius", 1813: "radius-acct", 1883: "mqtt", 2049: "nfs", 2379: "etcd-client",
	2380: "etcd-server", 3306: "mysql", 3389: "ms-wbt-server", 3478: "stun", 4500: "ipsec-nat-t", 4789: "vxlan",
	5060: "sip", 5201: "iperf3", 5353: "mdns", 5432: "postgresql", 5672: "amqp", 6379: "redis", 6443: "k8s-api",
	8080: "http-alt", 8443: "https-alt", 9092: "kafka", 9100: "node-exporter", 9200: "elasticsearch", 11211: "memcache",
	27017: "mongodb", 51820: "wireguard",
}

// BuiltinPorts returns the built-in table.
func BuiltinPorts() *Ports {
	p := &Ports{tcp: map[uint16]string{}, udp: map[uint16]string{}, sctp: map[uint16]string{}}
	for port, n := range builtin {
		p.tcp[port], p.udp[port] = n, n
	}
	return p
}

// DefaultServicesPath is where LoadPorts looks by default.
const DefaultServicesPath = "/etc/services"

// LoadPorts returns the built-in table overlaid with the services file at
// path; a missing file is not an error (the built-in table is returned).
func LoadPorts(path string) (*Ports, error) {
	p := BuiltinPorts()
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return p, nil
	}
	if err != nil {
		return p, fmt.Errorf("read services: %w", err)
	}
	defer f.Close()
	if err := p.parse(f, path); err != nil {
		return p, err
	}
	return p, nil
}

// ParseServices reads an /etc/services-format table ("name port/proto
// [aliases] [# comment]") into a Ports without built-in names. Malformed
// lines are skipped; the first name of a (proto, port) wins.
func ParseServices(r io.Reader) (*Ports, error) {
	p := &Ports{tcp: map[uint16]string{}, udp: map[uint16]string{}, sctp: map[uint16]string{}}
	return p, p.parse(r, "services")
}

func (p *Ports) parse(r io.Reader, name string) error {
	seen := map[[2]uint16]bool{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		fs := strings.Fields(line)
		if len(fs) < 2 {
			continue
		}
		portS, protoS, ok := strings.Cut(fs[1], "/")
		if !ok {
			continue
		}
		port, err := strconv.ParseUint(portS, 10, 16)
		if err != nil {
			continue
		}
		var m map[uint16]string
		var proto uint16
		switch protoS {
		case "tcp":
			m, proto = p.tcp, protoTCP
		case "udp":
			m, proto = p.udp, protoUDP
		case "sctp":
			m, proto = p.sctp, protoSCTP
		default:
			continue
		}
		k := [2]uint16{proto, uint16(port)}
		if seen[k] {
			continue
		}
		seen[k] = true
		m[uint16(port)] = cleanName(fs[0])
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	return nil
}

// Name returns the service name of port for IP protocol proto (6 TCP,
// 17 UDP, 132 SCTP), or "" when unknown.
func (p *Ports) Name(proto uint8, port uint16) string {
	if p == nil {
		return ""
	}
	switch proto {
	case protoTCP:
		return p.tcp[port]
	case protoUDP, 136: // UDP-Lite shares UDP's names
		return p.udp[port]
	case protoSCTP:
		return p.sctp[port]
	}
	return ""
}

// Label returns the service name of port, or the number when unknown.
func (p *Ports) Label(proto uint8, port uint16) string {
	if n := p.Name(proto, port); n != "" {
		return n
	}
	return strconv.Itoa(int(port))
}

// SystemPorts is the host's port-name table: the built-in table overlaid
// with DefaultServicesPath, loaded on first use (the built-in table alone
// when the file cannot be read).
var SystemPorts = sync.OnceValue(func() *Ports {
	p, _ := LoadPorts(DefaultServicesPath) // on error: the built-in table
	return p
})

// ServiceName is a port's service name in SystemPorts, "" when it has
// none.
func ServiceName(proto flows.Proto, port uint16) string {
	return SystemPorts().Name(uint8(proto), port)
}

// PortLabel labels a port with its service name in SystemPorts, or its
// number.
func PortLabel(proto flows.Proto, port uint16) string {
	return SystemPorts().Label(uint8(proto), port)
}
