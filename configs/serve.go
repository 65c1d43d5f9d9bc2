package configs

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"
)

// DefaultListenAddress is where `netriage serve` answers by default: the
// loopback only (exposing it is a choice the user makes), on a port
// outside the range the Prometheus wiki's default port allocations
// reserve for exporters (9100–9999, fully allocated since 2023: every port
// there is some exporter's default) and clear of the ports Kubernetes
// nodes (10248–10259), Zabbix (10050–10051) and Webmin (10000) listen on.
const DefaultListenAddress = "127.0.0.1:10099"

// MaxTalkerRank bounds serve.talkers.keep_rank: with two directions and two
// families per capture, a capture exports at most 4 × (keep_rank + 1)
// talker series.
const MaxTalkerRank = 500

// ServeConfig configures `netriage serve`, the Prometheus exporter.
type ServeConfig struct {
	// ListenAddress is host:port to listen on (--web.listen-address).
	ListenAddress string `yaml:"listen_address"`
	// Talkers bound the per-process and per-remote series.
	Talkers TalkersConfig `yaml:"talkers"`
}

// TalkersConfig bounds the talker series: per interface, direction and
// family (process, remote), a talker gets a series at rank TopK or better
// and keeps it while it ranks KeepRank or better and is not idle for Idle.
type TalkersConfig struct {
	TopK     int `yaml:"top_k"`
	KeepRank int `yaml:"keep_rank"`
	// MinShare (0..1) is the share of the direction's traffic a talker
	// must carry to get a series.
	MinShare float64  `yaml:"min_share"`
	Idle     Duration `yaml:"idle"`
}

// DefaultServe returns the default serve section.
func DefaultServe() ServeConfig {
	return ServeConfig{ListenAddress: DefaultListenAddress,
		Talkers: TalkersConfig{TopK: 10, KeepRank: 20, MinShare: 0.01, Idle: Duration(2 * time.Minute)}}
}

// Validate checks the address and the caps.
func (c ServeConfig) Validate() error {
	var errs []error
	if err := CheckListenAddress("serve.listen_address", c.ListenAddress); err != nil {
		errs = append(errs, err)
	}
	t := c.Talkers
	if t.TopK < 1 || t.TopK > MaxTalkerRank {
		errs = append(errs, fmt.Errorf("serve.talkers.top_k: %d is out of range (1..%d)", t.TopK, MaxTalkerRank))
	}
	if t.KeepRank < t.TopK || t.KeepRank > MaxTalkerRank {
		errs = append(errs, fmt.Errorf("serve.talkers.keep_rank: %d is out of range (serve.talkers.top_k..%d, e.g. twice top_k)", t.KeepRank, MaxTalkerRank))
	}
	if !(t.MinShare >= 0 && t.MinShare < 1) {
		errs = append(errs, fmt.Errorf("serve.talkers.min_share: %v is out of range (a ratio from 0 to below 1, e.g. 0.01)", t.MinShare))
	}
	if t.Idle.D() < time.Second || t.Idle.D() > 24*time.Hour {
		errs = append(errs, fmt.Errorf("serve.talkers.idle: %s is out of range (1s..24h)", t.Idle.D()))
	}
	return errors.Join(errs...)
}

// Listen returns the address to serve on: flag (--web.listen-address)
// when given, checked, else the section's. Errors wrap ErrUsage.
func (c ServeConfig) Listen(flag string) (string, error) {
	if flag == "" {
		return c.ListenAddress, nil
	}
	if err := CheckListenAddress("--web.listen-address", flag); err != nil {
		return "", Usagef("%v", err)
	}
	return flag, nil
}

// CheckListenAddress refuses an address that is not host:port with a port
// of 0..65535 (0: any free port), naming what gave it (a key or a flag).
// The message does not quote the address.
func CheckListenAddress(what, addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%s: not HOST:PORT (e.g. 127.0.0.1:10099, or :10099 for every address)", what)
	}
	if p, err := strconv.ParseUint(port, 10, 16); err != nil || p > 65535 {
		return fmt.Errorf("%s: the port is not a number from 0 to 65535", what)
	}
	return nil
}
