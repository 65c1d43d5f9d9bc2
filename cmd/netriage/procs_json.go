package main

import (
	"sort"
	"time"

	"netriage/triage/attrib"
	"netriage/views/format"
)

// The NDJSON record of procs, conns and remotes (docs/json.md, section "Procs, conns, remotes"). Every
// text field is sanitised: control characters, escape sequences and invalid
// UTF-8 never reach the output.

type jsonRates struct {
	SentBps float64 `json:"sent_bps"`
	RecvBps float64 `json:"recv_bps"`
}

func jr(r attrib.Rates) jsonRates {
	return jsonRates{SentBps: round3(r.SentBps), RecvBps: round3(r.RecvBps)}
}

func round3(v float64) float64 { return float64(int64(v*1000+0.5)) / 1000 }

type jsonContainer struct {
	Runtime string `json:"runtime"`
	ID      string `json:"id"`
	PodUID  string `json:"pod_uid,omitempty"`
}

type jsonProc struct {
	PID         int32          `json:"pid"`
	StartTime   *string        `json:"start_time"`
	User        string         `json:"user"`
	UID         uint32         `json:"uid"`
	Program     string         `json:"program"`
	Cmdline     string         `json:"cmdline"`
	Container   *jsonContainer `json:"container"`
	Unit        *string        `json:"unit"`
	Netns       uint64         `json:"netns"`
	Exited      bool           `json:"exited"`
	Incomplete  string         `json:"incomplete,omitempty"`
	SentBytes   uint64         `json:"sent_bytes"`
	RecvBytes   uint64         `json:"recv_bytes"`
	Rate2s      jsonRates      `json:"rate_2s"`
	Rate10s     jsonRates      `json:"rate_10s"`
	Rate40s     jsonRates      `json:"rate_40s"`
	Connections int            `json:"connections"`
}

type jsonUnattributed struct {
	Reason    string    `json:"reason"`
	SentBytes uint64    `json:"sent_bytes"`
	RecvBytes uint64    `json:"recv_bytes"`
	Rate2s    jsonRates `json:"rate_2s"`
	Rate10s   jsonRates `json:"rate_10s"`
	Rate40s   jsonRates `json:"rate_40s"`
	Flows     int       `json:"flows"`
}

type jsonConn struct {
	Proto      string    `json:"proto"`
	LocalAddr  string    `json:"local_addr"`
	LocalPort  *uint16   `json:"local_port"`
	RemoteAddr string    `json:"remote_addr"`
	RemotePort *uint16   `json:"remote_port"`
	PID        *int32    `json:"pid"`
	Program    string    `json:"program,omitempty"`
	Netns      uint64    `json:"netns,omitempty"`
	Match      string    `json:"match,omitempty"`
	Reason     string    `json:"reason,omitempty"`
	SentBytes  uint64    `json:"sent_bytes"`
	RecvBytes  uint64    `json:"recv_bytes"`
	Rate2s     jsonRates `json:"rate_2s"`
	Rate10s    jsonRates `json:"rate_10s"`
	Rate40s    jsonRates `json:"rate_40s"`
}

type jsonRemote struct {
	Addr        string    `json:"addr"`
	Name        *string   `json:"name"`
	SentBytes   uint64    `json:"sent_bytes"`
	RecvBytes   uint64    `json:"recv_bytes"`
	Rate2s      jsonRates `json:"rate_2s"`
	Rate10s     jsonRates `json:"rate_10s"`
	Rate40s     jsonRates `json:"rate_40s"`
	Connections int       `json:"connections"`
	PIDs        []int32   `json:"pids"`
	Programs    []string  `json:"programs"`
}

type jsonSockets struct {
	Namespaces       int      `json:"namespaces"`
	Sockets          int      `json:"sockets"`
	Processes        int      `json:"processes"`
	UnresolvedInodes int      `json:"unresolved_inodes"`
	UnreadablePIDs   int      `json:"unreadable_pids"`
	DumpsInterrupted uint64   `json:"dumps_interrupted"`
	FullScans        uint64   `json:"full_scans"`
	Errors           []string `json:"errors"`
}

type whoRecord struct {
	Time            time.Time          `json:"time"`
	View            string             `json:"view"`
	Mode            string             `json:"mode"`
	Bytes           string             `json:"bytes"`
	Note            string             `json:"note,omitempty"`
	Processes       []jsonProc         `json:"processes"`
	Unattributed    []jsonUnattributed `json:"unattributed"`
	Connections     *[]jsonConn        `json:"connections,omitempty"`
	Remotes         *[]jsonRemote      `json:"remotes,omitempty"`
	ExitedSentBytes uint64             `json:"exited_sent_bytes"`
	ExitedRecvBytes uint64             `json:"exited_recv_bytes"`
	Sockets         jsonSockets        `json:"sockets"`
}

const (
	maxCmdline = 4096
	maxText    = 256
)

func san(s string) string { return format.Sanitize(s, maxText) }

func buildWhoRecord(r attrib.Report, tab *attrib.SocketTable, programs func(attrib.ProcKey) string, view whoView, mode string) whoRecord {
	rec := whoRecord{Time: r.Time.UTC(), View: string(view), Mode: mode, Bytes: "ip", Processes: []jsonProc{}, Unattributed: []jsonUnattributed{},
		ExitedSentBytes: r.ExitedSentBytes, ExitedRecvBytes: r.ExitedRecvBytes}
	if mode == "sockets" {
		rec.Bytes = "tcp_payload"
		rec.Note = modeNote
	}
	for _, p := range r.Processes {
		m := p.Process
		jp := jsonProc{PID: m.Key.PID, User: san(m.User), UID: m.UID, Program: san(m.Program), Cmdline: format.Sanitize(m.Cmdline, maxCmdline),
			Netns: p.Netns, Exited: p.Exited, Incomplete: san(m.Incomplete), SentBytes: p.SentBytes, RecvBytes: p.RecvBytes,
			Rate2s: jr(p.Rate2s), Rate10s: jr(p.Rate10s), Rate40s: jr(p.Rate40s), Connections: p.Connections}
		if !m.StartTime.IsZero() {
			s := m.StartTime.UTC().Format(time.RFC3339)
			jp.StartTime = &s
		}
		if m.Container != nil {
			jp.Container = &jsonContainer{Runtime: san(m.Container.Runtime), ID: san(m.Container.ID), PodUID: san(m.Container.PodUID)}
		}
		if m.Unit != "" {
			u := san(m.Unit)
			jp.Unit = &u
		}
		rec.Processes = append(rec.Processes, jp)
	}
	for _, u := range r.Unattributed {
		rec.Unattributed = append(rec.Unattributed, jsonUnattributed{Reason: string(u.Reason), SentBytes: u.SentBytes, RecvBytes: u.RecvBytes,
			Rate2s: jr(u.Rate2s), Rate10s: jr(u.Rate10s), Rate40s: jr(u.Rate40s), Flows: u.Flows})
	}
	progOf := func(k attrib.ProcKey) string { return san(programs(k)) }
	if view == viewConns {
		conns := []jsonConn{}
		for _, c := range r.Connections {
			jc := jsonConn{Proto: c.Key.Proto.String(), LocalAddr: c.Key.Local.String(), RemoteAddr: c.Key.Remote.String(),
				SentBytes: c.SentBytes, RecvBytes: c.RecvBytes, Rate2s: jr(c.Rate2s), Rate10s: jr(c.Rate10s), Rate40s: jr(c.Rate40s),
				Match: string(c.Owner.Match), Reason: string(c.Owner.Reason)}
			if c.Key.Proto.HasPorts() {
				lp, rp := c.Key.LocalPort, c.Key.RemotePort
				jc.LocalPort, jc.RemotePort = &lp, &rp
			}
			if !c.Owner.Proc.IsZero() {
				pid := c.Owner.Proc.PID
				jc.PID, jc.Program, jc.Netns = &pid, san(c.Program), c.Owner.Netns
				if jc.Program == "" {
					jc.Program = progOf(c.Owner.Proc)
				}
			}
			conns = append(conns, jc)
		}
		rec.Connections = &conns
	}
	if view == viewRemotes {
		rems := []jsonRemote{}
		for _, rr := range r.Remotes {
			jm := jsonRemote{Addr: rr.Addr.String(), SentBytes: rr.SentBytes, RecvBytes: rr.RecvBytes, Rate2s: jr(rr.Rate2s), Rate10s: jr(rr.Rate10s), Rate40s: jr(rr.Rate40s),
				Connections: rr.Connections, PIDs: []int32{}, Programs: []string{}}
			if rr.Name != "" {
				n := san(rr.Name)
				jm.Name = &n
			}
			seen := map[string]bool{}
			for _, k := range rr.Procs {
				jm.PIDs = append(jm.PIDs, k.PID)
				if p := progOf(k); p != "" && !seen[p] {
					seen[p] = true
					jm.Programs = append(jm.Programs, p)
				}
			}
			rems = append(rems, jm)
		}
		rec.Remotes = &rems
	}
	if tab != nil {
		rec.Sockets = jsonSockets{Namespaces: len(tab.Namespaces), Sockets: len(tab.Sockets), Processes: len(tab.Processes),
			UnresolvedInodes: tab.Health.UnresolvedInodes, UnreadablePIDs: tab.Health.UnreadablePIDs,
			DumpsInterrupted: tab.Health.DumpsInterrupted, FullScans: tab.Health.FullScans, Errors: []string{}}
		for _, e := range tab.Health.Errors {
			rec.Sockets.Errors = append(rec.Sockets.Errors, san(e))
		}
		sort.Strings(rec.Sockets.Errors)
	}
	return rec
}

// label is the process's container or unit with attrib.Label's spelling.
func (p *jsonProc) label() string {
	unit := ""
	if p.Unit != nil {
		unit = *p.Unit
	}
	var c *attrib.Container
	if p.Container != nil {
		c = &attrib.Container{Runtime: p.Container.Runtime, ID: p.Container.ID, PodUID: p.Container.PodUID}
	}
	return attrib.Label(c, unit)
}
