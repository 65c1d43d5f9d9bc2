package verdict

import (
	"fmt"
	"math"
	"strings"
)

// coverage compares the flows of one interface and direction with its byte
// counter: flow IP bytes + hdr bytes per captured packet against the
// interface bytes, and says why when they differ.
func coverage(w Window, ifc Interface, d Direction, dd dirData, hdr uint64, multi bool) Coverage {
	c := Coverage{
		FlowIPBytes:      dd.flowIP,
		FlowPackets:      dd.flowPkts,
		LinkHeaderBytes:  hdr,
		FlowLinkBytes:    dd.flowIP + hdr*dd.flowPkts,
		InterfaceBytes:   dd.bytes,
		InterfacePackets: dd.packets,
		Reasons:          []string{},
	}
	what := ifc.Name + " " + d.String()
	switch {
	case !w.Counters:
		c.InterfaceBytes, c.InterfacePackets = 0, 0
		c.Summary = "coverage n/a for " + what
		c.Reasons = append(c.Reasons, "a capture file has no interface counters to compare the flows with")
		return c
	case !w.Capture.Active:
		c.Summary = "coverage n/a for " + what
		c.Reasons = append(c.Reasons, "no packet capture ran, so no flows are counted")
		return c
	case ifc.Removed != Present:
		c.Summary = "coverage n/a for " + what + ": removed during the window"
		c.Reasons = append(c.Reasons, "the interface disappeared during the window: its counters stop there, so flows and counters no longer cover the same time")
		return c
	case !ifc.Captured:
		c.Summary = "coverage n/a for " + what
		c.Reasons = append(c.Reasons, fmt.Sprintf("the capture did not listen on %s (add it with -i)", ifc.Name))
		return c
	case dd.bytes == 0 && c.FlowLinkBytes == 0:
		c.Summary = "coverage n/a for " + what + ": no traffic"
		return c
	case dd.bytes == 0:
		c.Summary = "coverage n/a for " + what
		c.Reasons = append(c.Reasons, fmt.Sprintf("the interface counted no bytes while the capture saw %d: a counter reset, or traffic of another interface", c.FlowLinkBytes))
		return c
	}
	ratio := round(float64(c.FlowLinkBytes)/float64(dd.bytes), 4)
	c.Ratio = &ratio
	c.Summary = fmt.Sprintf("flows explain %s of %s", pct(ratio), what)
	if ratio < CoverageLow {
		missing := dd.bytes - min(dd.bytes, c.FlowLinkBytes)
		c.Reasons = append(c.Reasons, fmt.Sprintf("%d bytes of %s are not in any flow", missing, what))
		known := false
		if w.Capture.KernelDrops > 0 {
			c.Reasons = append(c.Reasons, "capture drops: the kernel dropped "+packets(w.Capture.KernelDrops)+" before the capture read them (raise capture.ring_mib, or narrow the filter)")
			known = true
		}
		if w.Capture.Filter != "" {
			c.Reasons = append(c.Reasons, fmt.Sprintf("active filter: the capture filter %q excludes traffic the interface still counts", w.Capture.Filter))
			known = true
		}
		if w.Capture.NonIP > 0 {
			c.Reasons = append(c.Reasons, fmt.Sprintf("non-IP traffic: %d non-IP frames (ARP, LLDP, ...) are counted by the interface but are not flows", w.Capture.NonIP))
			known = true
		}
		if w.Capture.Truncated > 0 {
			c.Reasons = append(c.Reasons, fmt.Sprintf("%d truncated frames could not be decoded", w.Capture.Truncated))
			known = true
		}
		if o := offload(dd, ratio); o != "" {
			c.Reasons = append(c.Reasons, o)
			known = true
		}
		if !known {
			c.Reasons = append(c.Reasons, "no capture-side cause seen: the traffic may be on another interface (a bond, bridge or VLAN member), or hidden by offloads")
		}
	}
	if o := offload(dd, ratio); o != "" && ratio >= CoverageLow && ratio <= CoverageHigh {
		c.Reasons = append(c.Reasons, o)
	}
	if ratio > CoverageHigh {
		if multi && !ifc.FlowsPerInterface {
			c.Reasons = append(c.Reasons, fmt.Sprintf("traffic on another interface: the flows of every captured interface (%s) are counted here", strings.Join(w.Capture.Interfaces, ", ")))
		} else {
			c.Reasons = append(c.Reasons, "the flows count more than the interface: traffic on another interface is captured here (e.g. -i any), or offloads change what the interface counts")
		}
		if o := offload(dd, ratio); o != "" {
			c.Reasons = append(c.Reasons, o)
		}
	}
	return c
}

// offload explains a packet-count mismatch caused by segmentation offload
// (GSO/GRO/TSO), seen when the packet ratio departs from the byte ratio: the capture sees super-packets the interface counts
// differently, so the per-packet header estimate is off.
func offload(dd dirData, byteRatio float64) string {
	if dd.packets == 0 || dd.flowPkts == 0 {
		return ""
	}
	// A filter or drops lose packets and bytes alike; offloads change the
	// packet count alone.
	r := float64(dd.flowPkts) / float64(dd.packets)
	if math.Abs(r-byteRatio) < 0.05 {
		return ""
	}
	return fmt.Sprintf("offload effects: the interface counted %d packets and the capture %d; segmentation offload (GSO/GRO/TSO) makes one captured packet stand for several, so the link-header estimate is off", dd.packets, dd.flowPkts)
}
