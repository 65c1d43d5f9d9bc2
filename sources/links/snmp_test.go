package links

import "testing"

func TestParseRetransSegs(t *testing.T) {
	snmp := "Ip: Forwarding DefaultTTL\nIp: 1 64\nTcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails EstabResets CurrEstab InSegs OutSegs RetransSegs InErrs OutRsts InCsumErrors\nTcp: 1 200 120000 -1 10 5 0 0 3 1000 2000 42 0 7 0\nUdp: InDatagrams\nUdp: 5\n"
	v, err := parseRetransSegs([]byte(snmp))
	if err != nil || v != 42 {
		t.Fatalf("got %d, %v; want 42", v, err)
	}
	if _, err := parseRetransSegs([]byte("Ip: a\nIp: 1\n")); err == nil {
		t.Error("no Tcp lines accepted")
	}
	if _, err := parseRetransSegs([]byte("Tcp: RetransSegs\nTcp: x\n")); err == nil {
		t.Error("non-number accepted")
	}
}

func TestReadTCPRetransSegs(t *testing.T) {
	if _, err := ReadTCPRetransSegs(0); err != nil {
		t.Fatal(err)
	}
}
