package lab

import (
	"context"
	"errors"
	"fmt"
	"golang.org/x/sys/unix"
	"io"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Send describes one generator run. Every generator also stops when its
// context ends or after Timeout.
type Send struct {
	// Bytes is the exact number of payload bytes SendTCP writes.
	Bytes int64
	// Size is the payload size of each SendUDP datagram (default 1000).
	Size int
	// Count is the number of datagrams SendUDP sends.
	Count int
	// RateBps paces the payload to this many bits per second with a token
	// bucket; 0 sends as fast as the socket allows.
	RateBps uint64
	// Timeout bounds the run (default 30s).
	Timeout time.Duration
	// RetransBytes, when not nil, receives the payload bytes SendTCP's
	// socket retransmitted (tcp_info bytes_retrans), read once the peer
	// has closed: retransmitted segments cross the wire again.
	RetransBytes *uint64
}

// pacer sleeps so that sent bytes never run ahead of rateBps.
type pacer struct {
	start   time.Time
	rateBps uint64
}

func (p pacer) wait(ctx context.Context, sentBytes int64) error {
	if p.rateBps == 0 {
		return ctx.Err()
	}
	due := p.start.Add(time.Duration(float64(sentBytes) * 8 / float64(p.rateBps) * float64(time.Second)))
	d := time.Until(due)
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// SendTCP connects from this namespace to dst, writes exactly s.Bytes
// payload bytes (paced by s.RateBps), half-closes, waits for the peer to
// close, and returns the bytes written. A TCPSink closes after reading EOF,
// so when SendTCP returns nil every byte was delivered and acknowledged.
func (ns *NS) SendTCP(ctx context.Context, dst netip.AddrPort, s Send) (int64, error) {
	ctx, cancel := boundCtx(ctx, s.Timeout)
	defer cancel()
	var conn net.Conn
	err := ns.Do(func() error {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", dst.String())
		conn = c
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("lab: tcp dial %s from %s: %w", dst, ns.Name, err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	buf := make([]byte, 32<<10)
	for i := range buf {
		buf[i] = byte(i)
	}
	p := pacer{start: time.Now(), rateBps: s.RateBps}
	var sent int64
	for sent < s.Bytes {
		chunk := int64(len(buf))
		if s.RateBps != 0 {
			chunk = min(chunk, max(int64(s.RateBps/8/100), 1024)) // ~10 ms of data
		}
		chunk = min(chunk, s.Bytes-sent)
		if err := p.wait(ctx, sent); err != nil {
			return sent, fmt.Errorf("lab: tcp send to %s: %w", dst, err)
		}
		n, err := conn.Write(buf[:chunk])
		sent += int64(n)
		if err != nil {
			return sent, fmt.Errorf("lab: tcp send to %s: %w", dst, err)
		}
	}
	if err := conn.(*net.TCPConn).CloseWrite(); err != nil {
		return sent, fmt.Errorf("lab: tcp close-write to %s: %w", dst, err)
	}
	if _, err := io.Copy(io.Discard, conn); err != nil {
		return sent, fmt.Errorf("lab: tcp wait for close from %s: %w", dst, err)
	}
	if s.RetransBytes != nil {
		rc, err := conn.(*net.TCPConn).SyscallConn()
		if err != nil {
			return sent, fmt.Errorf("lab: tcp_info: %w", err)
		}
		var info *unix.TCPInfo
		var ierr error
		if err := rc.Control(func(fd uintptr) { info, ierr = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO) }); err != nil || ierr != nil {
			return sent, fmt.Errorf("lab: tcp_info: %v %v", err, ierr)
		}
		*s.RetransBytes = info.Bytes_retrans
	}
	return sent, nil
}

// udpMaxFailures bounds the failed writes in a row SendUDP retries.
const udpMaxFailures = 100

// SendUDP sends s.Count datagrams of s.Size payload bytes from this
// namespace to dst, paced by s.RateBps, and returns how many the socket
// accepted. A write that fails (ECONNREFUSED from an earlier ICMP error,
// which the kernel reports instead of sending) is not counted and is tried
// again; udpMaxFailures failures in a row end the send with an error.
// Datagrams the local queue drops after the socket accepted them still
// count as sent (without IP_RECVERR the kernel does not report them).
func (ns *NS) SendUDP(ctx context.Context, dst netip.AddrPort, s Send) (int, error) {
	ctx, cancel := boundCtx(ctx, s.Timeout)
	defer cancel()
	if s.Size <= 0 {
		s.Size = 1000
	}
	if s.Size > 65507 {
		return 0, fmt.Errorf("lab: udp payload %d too large", s.Size)
	}
	var conn *net.UDPConn
	err := ns.Do(func() error {
		c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(dst))
		conn = c
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("lab: udp socket to %s from %s: %w", dst, ns.Name, err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	buf := make([]byte, s.Size)
	p := pacer{start: time.Now(), rateBps: s.RateBps}
	sent, failed := 0, 0
	for sent < s.Count {
		if err := p.wait(ctx, int64(sent)*int64(s.Size)); err != nil {
			return sent, fmt.Errorf("lab: udp send to %s: %w", dst, err)
		}
		if _, err := conn.Write(buf); err != nil {
			var oe *net.OpError
			if errors.As(err, &oe) && !oe.Timeout() && failed < udpMaxFailures-1 {
				// ECONNREFUSED from an earlier ICMP: the kernel reported
				// it instead of sending this datagram; send it again.
				failed++
				continue
			}
			return sent, fmt.Errorf("lab: udp send to %s (failed writes in a row: %d): %w", dst, failed+1, err)
		}
		sent, failed = sent+1, 0
	}
	return sent, nil
}

// Sink counts what a TCP or UDP listener receives. It is closed at lab
// cleanup, or earlier with Close.
type Sink struct {
	addr    netip.AddrPort
	bytes   atomic.Uint64
	packets atomic.Uint64
	conns   atomic.Uint64
	done    atomic.Uint64 // TCP connections that reached EOF

	closeOnce sync.Once
	closeFn   func()
	wg        sync.WaitGroup
}

// Addr returns the address the sink listens on.
func (s *Sink) Addr() netip.AddrPort { return s.addr }

// Bytes returns the payload bytes received so far.
func (s *Sink) Bytes() uint64 { return s.bytes.Load() }

// Datagrams returns the UDP datagrams received so far (0 for TCP).
func (s *Sink) Datagrams() uint64 { return s.packets.Load() }

// Finished returns the number of TCP connections that reached EOF.
func (s *Sink) Finished() uint64 { return s.done.Load() }

// Close stops the sink and waits for its goroutines.
func (s *Sink) Close() {
	s.closeOnce.Do(s.closeFn)
	s.wg.Wait()
}

// WaitBytes waits until the sink has received at least n bytes or ctx ends.
func (s *Sink) WaitBytes(ctx context.Context, n uint64) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for s.Bytes() < n {
		select {
		case <-ctx.Done():
			return fmt.Errorf("lab: sink %s got %d of %d bytes: %w", s.addr, s.Bytes(), n, ctx.Err())
		case <-t.C:
		}
	}
	return nil
}

// TCPSink listens on ip (port chosen by the kernel) inside the namespace
// and counts the payload bytes of every connection; it closes each
// connection after EOF. It fails the test on error.
func (ns *NS) TCPSink(ip netip.Addr) *Sink {
	ns.lab.t.Helper()
	var ln *net.TCPListener
	err := ns.Do(func() error {
		l, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(netip.AddrPortFrom(ip, 0)))
		ln = l
		return err
	})
	if err != nil {
		ns.lab.t.Fatalf("lab: tcp listen on %s in %s: %v", ip, ns.Name, err)
	}
	s := &Sink{addr: ln.Addr().(*net.TCPAddr).AddrPort()}
	var mu sync.Mutex
	open := map[net.Conn]bool{}
	closed := false
	s.closeFn = func() {
		ln.Close()
		mu.Lock()
		closed = true
		for c := range open {
			c.Close()
		}
		mu.Unlock()
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			if closed {
				mu.Unlock()
				c.Close()
				return
			}
			open[c] = true
			mu.Unlock()
			s.conns.Add(1)
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				buf := make([]byte, 64<<10)
				for {
					n, err := c.Read(buf)
					s.bytes.Add(uint64(n))
					if err != nil {
						if errors.Is(err, io.EOF) {
							s.done.Add(1)
						}
						break
					}
				}
				mu.Lock()
				delete(open, c)
				mu.Unlock()
				c.Close()
			}()
		}
	}()
	ns.lab.OnCleanup(s.Close)
	return s
}

// UDPSink listens on ip (port chosen by the kernel) inside the namespace and
// counts datagrams and payload bytes. It fails the test on error.
func (ns *NS) UDPSink(ip netip.Addr) *Sink {
	ns.lab.t.Helper()
	var pc *net.UDPConn
	err := ns.Do(func() error {
		c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, 0)))
		pc = c
		return err
	})
	if err != nil {
		ns.lab.t.Fatalf("lab: udp listen on %s in %s: %v", ip, ns.Name, err)
	}
	s := &Sink{addr: pc.LocalAddr().(*net.UDPAddr).AddrPort()}
	s.closeFn = func() { pc.Close() }
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		buf := make([]byte, 65536)
		for {
			n, err := pc.Read(buf)
			if err != nil {
				return
			}
			s.bytes.Add(uint64(n))
			s.packets.Add(1)
		}
	}()
	ns.lab.OnCleanup(s.Close)
	return s
}

// Iperf3Server starts `iperf3 -s` bound to ip:port inside the namespace,
// for one client (-1). The lab kills it at cleanup if it is still running.
// It fails the test if iperf3 is missing.
func (ns *NS) Iperf3Server(ip netip.Addr, port uint16) {
	ns.lab.t.Helper()
	c := ns.Command(context.Background(), "iperf3", "-s", "-1", "-B", ip.String(), "-p", strconv.Itoa(int(port)))
	if err := c.Start(); err != nil {
		ns.lab.t.Fatalf("lab: iperf3 server in %s: %v (apt-get install iperf3)", ns.Name, err)
	}
	go func() { _ = c.Wait() }()
	time.Sleep(200 * time.Millisecond) // let it bind
}

// Iperf3 runs `iperf3 args...` inside the namespace until it exits or ctx
// ends (then it is killed) and returns its combined output.
func (ns *NS) Iperf3(ctx context.Context, args ...string) ([]byte, error) {
	ctx, cancel := boundCtx(ctx, 60*time.Second)
	defer cancel()
	out, err := ns.Command(ctx, "iperf3", args...).CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("lab: iperf3 %v in %s: %w", args, ns.Name, err)
	}
	return out, nil
}
