// Package lab is a test-only network lab: it creates its own network
// namespaces joined by veth pairs, puts shapers (tbf, htb) on links, turns
// veth offloads off, and generates known traffic from Go senders (or
// iperf3), so integration tests can check netriage's numbers against ground
// truth. Everything it creates is removed when the test ends, also when the
// test fails or panics.
//
// # Use
//
//	func TestIntegrationSomething(t *testing.T) {
//		l := lab.New(t)              // skips unless root and NETRIAGE_INTEGRATION=1
//		a, b := l.Netns(), l.Netns() // two namespaces, lo up
//		la, lb := l.Veth(a, b)       // veth pair, IPv4 + IPv6, both ends up
//		sink := b.TCPSink(t, lb.IPv4.Addr())
//		n, err := a.SendTCP(ctx, sink.Addr(), lab.Send{Bytes: 1 << 20})
//		...
//		c := la.Counters(t)          // netlink counters of the a side
//	}
//
// # Gating
//
// New skips the test unless the process runs as root (effective UID 0) and
// the environment has NETRIAGE_INTEGRATION=1 (`make integration` sets it).
//
// # Names and addresses
//
// Every lab gets a random tag. Namespaces are named "nrt<pid>-<tag>-<n>"
// (visible in `ip netns list`), interfaces "nr<tag>v<n>a"/"...b" (at most 15
// bytes). Several test binaries may run at the same time without clashing.
// New also deletes namespaces left behind by lab processes that no longer
// exist (killed with SIGKILL, for example).
//
// IPv4 addresses come from 198.18.0.0/15: veth pair n uses 198.18.n.0/24,
// with .1 on the first end and .2 on the second. IPv6 addresses come from
// fd00:198:18::/64: pair n uses fd00:198:18::n:0/112, with ::n:1 and ::n:2
// (added with nodad, usable at once). Links live only inside the lab's
// namespaces, never in the namespace the test runs in.
//
// # Namespaces and goroutines
//
// (*NS).Do runs a function on a locked OS thread switched into the
// namespace. Sockets created inside it stay in that namespace for their
// whole life and can be used from any goroutine afterwards; goroutines
// started inside the function do NOT run in the namespace. The traffic
// helpers create their sockets this way.
//
// # Traffic
//
// SendTCP writes an exact number of payload bytes over one connection,
// optionally paced by a token bucket (Send.RateBps, bits per second).
// SendUDP sends Count datagrams of Size payload bytes, optionally paced.
// TCPSink and UDPSink count what they receive. Every generator stops at the
// byte/packet count, when its context ends, or after Send.Timeout (default
// 30 s), whichever comes first. (*NS).Iperf3Server and (*NS).Iperf3Client run
// iperf3 inside the namespace; only the processes the lab started are killed.
//
// # The stack scenarios
//
// FloodUDP sends small datagrams as fast as one thread pinned to a CPU can
// (optionally in bursts with pauses), on a socket with a large send buffer
// so the sender does not wait for the receiver. (*Link).SetRPS steers what
// an interface receives to chosen CPUs' backlogs (receive packet steering,
// a setting of the device, gone with it). ReadSoftnet and
// (*NS).ReadConntrack are the ground truth of the softirq backlog and of a
// namespace's conntrack table, read from /proc without netriage's parsers;
// SlabObjects reads a slab cache's size, for what a scenario costs the
// kernel.
//
// # The binary
//
// Binary returns the netriage binary a test runs inside the lab:
// $NETRIAGE_BIN (make integration sets it), else one built once per test
// process from this checkout into the temporary directory.
//
// # Processes
//
// The benchmarks read what the processes they start cost from /proc:
// CPUTime (on-CPU time of every thread), Threads and DiffThreads (per
// thread: CPU time, runs on a CPU, i.e. wake-ups, and context switches)
// and ReadSmaps, whose pure half ParseSmaps sorts the resident memory of
// /proc/PID/smaps by kind (packet rings, the executable's code, read-only
// data, data and BSS, anonymous memory, libraries).
//
// # Shapers and drops
//
// A shaper on the sender's own namespace back-pressures local TCP sockets
// (the sender simply slows down) instead of dropping. To see real queue
// drops, either send UDP faster than the shaper, or shape the egress of a
// namespace that forwards: Router builds a — r — b with forwarding enabled in
// r, and RtoB.TBF(...) makes r's link to b the bottleneck.
package lab
