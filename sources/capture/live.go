package capture

import (
	"errors"

	"netriage/triage/flows"
)

// LiveOptions configure StartLive.
type LiveOptions struct {
	// Interfaces are interface names; empty, or the single name "any",
	// captures on every interface with one socket.
	Interfaces []string
	// Filter is a tcpdump-syntax filter compiled by libpcap and attached
	// in the kernel ("" captures everything).
	Filter string
	// Promisc makes every ring a user of promiscuous mode on its named
	// interface (a packet-socket membership the kernel counts and drops
	// when the ring closes, however the process ends). A failure, and
	// "any", which names no interface, leave the capture running and are
	// reported in the snapshots' Health.Warnings.
	Promisc bool
	// Table configures the flow table; Table.Local decides direction.
	Table flows.TableConfig
	// Aggregation groups the snapshots' flows.
	Aggregation flows.Aggregation
	// LocalNet describes Table.Local for Health ("" for the host's own
	// addresses).
	LocalNet string
	// RingMiB is the ring size per interface under load, in MiB (default
	// DefaultRingMiB). With one ring per interface (Fanout 0 or 1), a ring
	// larger than 2 MiB opens at 2 MiB and grows to RingMiB the first time
	// the kernel hands a block of it over full (see growth); smaller rings
	// and the rings of a hash fanout have RingMiB from the start.
	RingMiB int
	// Fanout is the number of rings per interface (0 or 1: one). With
	// more, the kernel spreads packets over them by flow hash.
	Fanout int
	// Names, when set, gets the DNS answers and TLS ClientHellos: one more
	// small ring per interface, whose own filter passes only those
	// packets with a longer snap length (Filter does not apply to it).
	Names *NameTap
}

// DefaultRingMiB is the ring size per interface when none is set: 32
// blocks of 1 MiB, about 96,000 packets at the 256-byte snap length (a
// second at 100,000 packets/s), and at low rates, where the kernel hands
// over a block every 200 ms (the block time-out), 6.4 s of packets.
const DefaultRingMiB = 32

// ErrPermission is wrapped by StartLive's error when the process may not
// open packet sockets (CAP_NET_RAW is missing).
var ErrPermission = errors.New("packet capture not permitted")

// ErrNoInterface is wrapped by StartLive's error for an unknown interface.
var ErrNoInterface = errors.New("no such interface")
