package output

// The links record's JSON, member by member in the order of the structs'
// fields and with their tags' names: what json.Marshal writes for them,
// without reflection and into the writer's reused buffer (an idle links
// writes one record a second, and encoding/json was a fifth of its CPU).
// A field added to a record type must be added here too:
// TestLinksJSONMatchesMarshal fails until it is.

func (r *LinksRecord) appendJSON(e *jsonEnc) {
	e.open('{')
	e.u64("seq", r.Seq)
	e.str("time", r.Time)
	e.f64("interval_s", r.IntervalS)
	e.str("netns", r.Netns)
	e.bool("netns_gone", r.NetnsGone)
	list(e, "interfaces", r.Interfaces, func(j *LinksIfaceRecord) { j.appendJSON(e) })
	object(e, "stack", r.Stack, func(s *LinksStackRecord) { s.appendJSON(e) })
	e.strs("warnings", r.Warnings)
	e.close('}')
}

func (j *LinksIfaceRecord) appendJSON(e *jsonEnc) {
	e.open('{')
	e.str("name", j.Name)
	e.int("index", j.Index)
	e.str("kind", j.Kind)
	e.str("oper_state", j.OperState)
	e.bool("admin_up", j.AdminUp)
	e.int("mtu", j.MTU)
	e.bool("gone", j.Gone)
	e.pstr("gone_since", j.GoneSince)
	e.str("note", j.Note)
	e.pu64("capacity_bps", j.CapacityBps)
	e.str("capacity_source", j.CapacitySource)
	e.pu64("ethtool_speed_bps", j.EthtoolSpeedBps)
	e.pu64("sysfs_speed_bps", j.SysfsSpeedBps)
	e.strs("addresses", j.Addresses)

	e.u64("rx_bytes", j.RxBytes)
	e.u64("tx_bytes", j.TxBytes)
	e.u64("rx_packets", j.RxPackets)
	e.u64("tx_packets", j.TxPackets)
	e.u64("rx_errors", j.RxErrors)
	e.u64("tx_errors", j.TxErrors)
	e.u64("rx_dropped", j.RxDropped)
	e.u64("tx_dropped", j.TxDropped)

	e.pu64("rx_bytes_delta", j.RxBytesDelta)
	e.pu64("tx_bytes_delta", j.TxBytesDelta)
	e.pu64("rx_packets_delta", j.RxPacketsDelta)
	e.pu64("tx_packets_delta", j.TxPacketsDelta)

	e.pf64("rx_bps", j.RxBps)
	e.pf64("tx_bps", j.TxBps)
	e.pf64("rx_packets_per_s", j.RxPacketsPerS)
	e.pf64("tx_packets_per_s", j.TxPacketsPerS)
	e.pf64("rx_errors_per_s", j.RxErrorsPerS)
	e.pf64("tx_errors_per_s", j.TxErrorsPerS)
	e.pf64("rx_dropped_per_s", j.RxDroppedPerS)
	e.pf64("tx_dropped_per_s", j.TxDroppedPerS)
	e.pu64("rx_capacity_bps", j.RxCapacityBps)
	e.str("rx_capacity_source", j.RxCapSource)
	e.pf64("rx_utilization", j.RxUtilization)
	e.pf64("tx_utilization", j.TxUtilization)
	object(e, "qdisc", j.Qdisc, func(q *LinksQdiscRecord) { q.appendJSON(e) })
	object(e, "nic", j.NIC, func(n *LinksNICRecord) { n.appendJSON(e) })
	object(e, "bql", j.BQL, func(q *LinksBQLRecord) { q.appendJSON(e) })
	e.close('}')
}

func (q *LinksQdiscRecord) appendJSON(e *jsonEnc) {
	e.open('{')
	e.str("kind", q.Kind)
	e.int("children", q.Children)
	e.u64("bytes", q.Bytes)
	e.u64("packets", q.Packets)
	e.u64("drops", q.Drops)
	e.u64("overlimits", q.Overlimits)
	e.u64("requeues", q.Requeues)
	e.u64("backlog_bytes", q.BacklogBytes)
	e.u64("backlog_packets", q.BacklogPackets)
	e.pu64("shaper_rate_bps", q.ShaperRateBps)
	e.pu64("drops_delta", q.DropsDelta)
	e.pf64("drops_per_s", q.DropsPerS)
	e.pf64("overlimits_per_s", q.OverlimitsPerS)
	e.pf64("requeues_per_s", q.RequeuesPerS)
	e.pf64("sent_bps", q.SentBps)
	e.pu64("leaf_drops", q.LeafDrops)
	e.pu64("leaf_drops_delta", q.LeafDropsDelta)
	list(e, "classes", q.Classes, func(c *LinksClassRecord) { c.appendJSON(e) })
	list(e, "aqm", q.AQM, func(a *LinksAQMRecord) { a.appendJSON(e) })
	e.close('}')
}

func (c *LinksClassRecord) appendJSON(e *jsonEnc) {
	e.open('{')
	e.str("kind", c.Kind)
	e.str("handle", c.Handle)
	e.str("parent", c.Parent)
	e.bool("leaf", c.Leaf)
	e.u64("bytes", c.Bytes)
	e.u64("packets", c.Packets)
	e.u64("drops", c.Drops)
	e.u64("overlimits", c.Overlimits)
	e.u64("backlog_bytes", c.BacklogBytes)
	e.u64("backlog_packets", c.BacklogPackets)
	e.pu64("rate_bps", c.RateBps)
	e.pu64("ceil_bps", c.CeilBps)
	e.pu64("estimated_bps", c.EstBps)
	e.close('}')
}

func (a *LinksAQMRecord) appendJSON(e *jsonEnc) {
	e.open('{')
	e.str("kind", a.Kind)
	e.str("handle", a.Handle)
	e.str("parent", a.Parent)
	e.u64("drops", a.Drops)
	e.u64("drop_overlimit", a.DropOverlimit)
	e.u64("drop_overmemory", a.DropOvermemory)
	e.u64("ecn_marks", a.ECNMarks)
	e.u64("ce_marks", a.CEMarks)
	e.pu64("new_flows", a.NewFlows)
	e.pu64("flows", a.Flows)
	e.u64("backlog_bytes", a.BacklogBytes)
	e.u64("backlog_packets", a.BacklogPackets)
	e.close('}')
}

func (n *LinksNICRecord) appendJSON(e *jsonEnc) {
	e.open('{')
	e.str("driver", n.Driver)
	e.int("counters", n.Counters)
	e.pf64("lost_per_s", n.LostPerS)
	list(e, "loss", n.Loss, func(c *LinksNICCounter) {
		e.open('{')
		e.str("name", c.Name)
		e.str("class", c.Class)
		e.u64("value", c.Value)
		e.pf64("per_s", c.PerS)
		e.close('}')
	})
	e.str("note", n.Note)
	e.close('}')
}

func (q *LinksBQLRecord) appendJSON(e *jsonEnc) {
	e.open('{')
	list(e, "queues", q.Queues, func(x *LinksBQLQueue) {
		e.open('{')
		e.int("queue", x.Queue)
		e.u64("inflight_bytes", x.InflightBytes)
		e.u64("limit_bytes", x.LimitBytes)
		e.close('}')
	})
	e.str("note", q.Note)
	e.close('}')
}

// counter writes a stack counter member.
func (e *jsonEnc) counter(k string, c LinksCounter) {
	e.key(k)
	c.appendJSON(e)
}

func (e *jsonEnc) pcounter(k string, c *LinksCounter) {
	object(e, k, c, func(c *LinksCounter) { c.appendJSON(e) })
}

func (c LinksCounter) appendJSON(e *jsonEnc) {
	e.open('{')
	e.u64("value", c.Value)
	e.pf64("per_s", c.PerS)
	e.close('}')
}

func (s *LinksStackRecord) appendJSON(e *jsonEnc) {
	e.open('{')
	object(e, "softnet", s.Softnet, func(sn *LinksSoftnetRecord) {
		e.open('{')
		e.counter("dropped", sn.Dropped)
		e.counter("time_squeeze", sn.TimeSqueeze)
		e.counter("flow_limit", sn.FlowLimit)
		list(e, "cpus", sn.CPUs, func(c *LinksSoftnetCPURow) {
			e.open('{')
			e.int("cpu", c.CPU)
			e.counter("processed", c.Processed)
			e.counter("dropped", c.Dropped)
			e.counter("time_squeeze", c.TimeSqueeze)
			e.counter("flow_limit", c.FlowLimit)
			e.u64("backlog_len", c.BacklogLen)
			e.close('}')
		})
		e.close('}')
	})
	object(e, "tcp", s.TCP, func(t *LinksTCPRecord) {
		e.open('{')
		e.counter("retrans_segs", t.RetransSegs)
		e.counter("timeouts", t.Timeouts)
		e.counter("listen_overflows", t.ListenOverflows)
		e.counter("listen_drops", t.ListenDrops)
		e.counter("backlog_drops", t.BacklogDrops)
		e.close('}')
	})
	object(e, "udp", s.UDP, func(u *LinksUDPRecord) {
		e.open('{')
		e.counter("rcvbuf_errors", u.RcvbufErrors)
		e.counter("sndbuf_errors", u.SndbufErrors)
		e.counter("in_errors", u.InErrors)
		e.close('}')
	})
	object(e, "ip", s.IP, func(ip *LinksIPRecord) {
		e.open('{')
		e.counter("in_discards", ip.InDiscards)
		e.close('}')
	})
	e.pcounter("endpoint_drops", s.EndpointDrops)
	object(e, "conntrack", s.Conntrack, func(ct *LinksConntrackRecord) {
		e.open('{')
		e.u64("count", ct.Count)
		e.u64("max", ct.Max)
		e.pf64("fill", ct.Fill)
		e.pcounter("insert_failed", ct.InsertFailed)
		e.pcounter("drop", ct.Drop)
		e.pcounter("early_drop", ct.EarlyDrop)
		e.close('}')
	})
	e.strs("absent", s.Absent)
	e.strs("errors", s.Errors)
	e.close('}')
}
