package links

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"netriage/sources/privs"
)

// ReadTCPRetransSegs returns the TCP RetransSegs counter of the current
// network namespace (or of PID's, with pid > 0) from /proc/net/snmp: the
// same total sock_diag's tcp_info total_retrans sums per socket, but
// including sockets that have closed.
func ReadTCPRetransSegs(pid int) (uint64, error) {
	path := "/proc/net/snmp"
	if pid > 0 {
		path = "/proc/" + strconv.Itoa(pid) + "/net/snmp"
	}
	var b []byte
	var err error
	privs.WithProcAccess(func() { b, err = os.ReadFile(path) })
	if err != nil {
		return 0, fmt.Errorf("read tcp retransmissions: %w", err)
	}
	return parseRetransSegs(b)
}

// parseRetransSegs finds Tcp: RetransSegs in /proc/net/snmp text.
func parseRetransSegs(b []byte) (uint64, error) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	var header []string
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "Tcp:") {
			continue
		}
		fields := strings.Fields(line)[1:]
		if header == nil {
			header = fields
			continue
		}
		for i, h := range header {
			if h == "RetransSegs" && i < len(fields) {
				v, err := strconv.ParseUint(fields[i], 10, 64)
				if err != nil {
					return 0, errors.New("parse snmp: RetransSegs is not a number")
				}
				return v, nil
			}
		}
		break
	}
	return 0, errors.New("parse snmp: no Tcp RetransSegs")
}
