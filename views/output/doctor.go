package output

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"netriage/triage"
	"netriage/views/format"
)

// DoctorCap is one capability netriage uses, and whether it has it.
type DoctorCap struct {
	Name  string `json:"name"`
	Have  bool   `json:"have"`
	Needs string `json:"needed_for"`
}

// DoctorCheck is one feature check of doctor: what works, what does not
// and how to fix it.
type DoctorCheck struct {
	Name string `json:"name"`
	OK   bool   `json:"ok"`
	// Warn marks a check that works but leaves an answer out (an unknown
	// link capacity: no utilisation); it does not fail doctor.
	Warn   bool   `json:"warn,omitempty"`
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

// DoctorIface is one interface and where its capacity comes from.
type DoctorIface struct {
	Name           string  `json:"name"`
	OperState      string  `json:"oper_state"`
	CapacityBps    *uint64 `json:"capacity_bps"`
	CapacitySource string  `json:"capacity_source"`
	Qdisc          string  `json:"qdisc"`
}

// DoctorInterfaces are the rows of doctor's interface table for sample
// s, capacities resolved with the overrides userBps, and how many
// interfaces are up (loopback excluded) with an unknown capacity.
func DoctorInterfaces(s *triage.LinksSample, userBps map[string]uint64) (rows []DoctorIface, unknown int) {
	for _, i := range s.Ifaces {
		c := triage.ResolveCapacity(userBps[i.Name], i)
		di := DoctorIface{Name: i.Name, OperState: i.OperState, CapacitySource: string(c.Source), Qdisc: "-"}
		if c.Known {
			di.CapacityBps = &c.Bps
		} else if i.IsUp() && !i.Loopback {
			unknown++
		}
		if i.Qdisc != nil {
			di.Qdisc = i.Qdisc.Kind
		}
		rows = append(rows, di)
	}
	return rows, unknown
}

// DoctorReport is what doctor found on this host.
type DoctorReport struct {
	EUID         int           `json:"euid"`
	Capabilities []DoctorCap   `json:"capabilities"`
	Checks       []DoctorCheck `json:"checks"`
	Interfaces   []DoctorIface `json:"interfaces"`
	AllOK        bool          `json:"all_ok"`
}

// sanitized returns a copy of rep whose text from outside (interface names,
// error details, the binary's path in a fix) is terminal-safe.
func (rep DoctorReport) sanitized() DoctorReport {
	out := rep
	out.Checks = make([]DoctorCheck, len(rep.Checks))
	for i, c := range rep.Checks {
		c.Detail, c.Fix = format.Sanitize(c.Detail, 0), format.Sanitize(c.Fix, 0)
		out.Checks[i] = c
	}
	if rep.Interfaces != nil {
		out.Interfaces = make([]DoctorIface, len(rep.Interfaces))
		for i, f := range rep.Interfaces {
			f.Name = format.Sanitize(f.Name, 32)
			out.Interfaces[i] = f
		}
	}
	return out
}

// WriteDoctor writes rep as a table, or as one line of JSON when outFormat
// is "json".
func WriteDoctor(w io.Writer, rep DoctorReport, outFormat string) error {
	rep = rep.sanitized()
	if outFormat == "json" {
		b, err := json.Marshal(rep)
		if err != nil {
			return fmt.Errorf("doctor json: %w", err)
		}
		_, err = w.Write(append(b, '\n'))
		return err
	}
	return writeDoctorTable(w, rep)
}

func writeDoctorTable(w io.Writer, rep DoctorReport) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "effective UID %d\n\nCAPABILITY\tHAVE\tNEEDED FOR\n", rep.EUID)
	for _, c := range rep.Capabilities {
		have := "no"
		if c.Have {
			have = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", c.Name, have, c.Needs)
	}
	fmt.Fprintln(tw, "\nCHECK\tSTATUS\tDETAIL")
	for _, c := range rep.Checks {
		st := "ok"
		switch {
		case !c.OK:
			st = "MISSING"
		case c.Warn:
			st = "WARNING"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", c.Name, st, format.Sanitize(c.Detail, 300))
		if c.Fix != "" {
			fmt.Fprintf(tw, "\t\tfix: %s\n", c.Fix)
		}
	}
	if len(rep.Interfaces) > 0 {
		fmt.Fprintln(tw, "\nINTERFACE\tSTATE\tCAPACITY\tSOURCE\tROOT QDISC")
		for _, i := range rep.Interfaces {
			capS := "-"
			if i.CapacityBps != nil {
				capS = format.Rate(float64(*i.CapacityBps)/8, format.Units{})
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", i.Name, i.OperState, capS, i.CapacitySource, i.Qdisc)
		}
	}
	warned := false
	for _, c := range rep.Checks {
		warned = warned || c.Warn
	}
	switch {
	case rep.AllOK && warned:
		fmt.Fprintln(tw, "\nall checks passed, with warnings: see the fix lines above")
	case rep.AllOK:
		fmt.Fprintln(tw, "\nall checks passed")
	default:
		fmt.Fprintln(tw, "\nsome features are unavailable: see the fix lines above")
	}
	return tw.Flush()
}

// DoctorFacts are what doctor gathered on the host; NewDoctorReport judges
// them.
type DoctorFacts struct {
	EUID int
	// Caps are the effective capabilities by name (CAP_NET_RAW, ...);
	// nil when they could not be read.
	Caps map[string]bool
	// Executable is the binary's path, for the setcap advice.
	Executable string
	// LinksErr is why the interface counters could not be opened
	// (OpenFailed) or read; Links is the sample otherwise.
	LinksErr   error
	OpenFailed bool
	Links      *triage.LinksSample
	UserBps    map[string]uint64
	// PacketErr is why no packet socket opened (nil: it did).
	PacketErr error
	// ProcFdsOK says another user's /proc/PID/fd could be listed.
	ProcFdsOK     bool
	ProcFdsDetail string
}

// doctorCaps are the capabilities netriage uses, in the order shown.
var doctorCaps = []struct{ name, needs string }{
	{"CAP_NET_RAW", "packet capture (flows, remotes, per-flow rates; -p too)"},
	{"CAP_NET_ADMIN", "some netlink queries"},
	{"CAP_DAC_READ_SEARCH", "reading other users' /proc/PID/fd (process attribution)"},
	{"CAP_SYS_PTRACE", "reading other users' /proc/PID/fd links (process attribution)"},
}

// NewDoctorReport judges f: each feature's check, what it costs when
// missing and how to grant it.
func NewDoctorReport(f DoctorFacts) DoctorReport {
	rep := DoctorReport{EUID: f.EUID}
	for _, c := range doctorCaps {
		rep.Capabilities = append(rep.Capabilities, DoctorCap{Name: c.name, Have: f.Caps[c.name], Needs: c.needs})
	}
	grant := "run with sudo, or: sudo setcap cap_net_raw,cap_net_admin,cap_dac_read_search,cap_sys_ptrace+ep " + f.Executable
	const counters = "interface counters (netlink)"
	switch {
	case f.LinksErr != nil && f.OpenFailed:
		rep.Checks = append(rep.Checks, DoctorCheck{Name: counters, Detail: f.LinksErr.Error(),
			Fix: "check the --netns value; entering another namespace needs root"})
	case f.LinksErr != nil:
		rep.Checks = append(rep.Checks, DoctorCheck{Name: counters, Detail: f.LinksErr.Error()})
	case f.Links != nil:
		rep.Checks = append(rep.Checks, DoctorCheck{Name: counters, OK: true,
			Detail: format.Plural(len(f.Links.Ifaces), "interface") + "; 'netriage links' works"})
		var unknown int
		rep.Interfaces, unknown = DoctorInterfaces(f.Links, f.UserBps)
		if unknown > 0 {
			// A warning: utilisation is unknown there (saturation still
			// shows through queue drops). Not a failure.
			rep.Checks = append(rep.Checks, DoctorCheck{Name: "link capacity", OK: true, Warn: true,
				Detail: format.Plural(unknown, "interface") + " up with unknown capacity: no utilisation % for them",
				Fix:    "give it with --link-speed IF=RATE or links.speeds in the config file"})
		}
	}
	if f.PacketErr == nil {
		rep.Checks = append(rep.Checks, DoctorCheck{Name: "packet capture (AF_PACKET)", OK: true, Detail: "flows, remotes and per-flow rates work"})
	} else {
		rep.Checks = append(rep.Checks, DoctorCheck{Name: "packet capture (AF_PACKET)", Detail: "cannot open a packet socket (" + f.PacketErr.Error() + "): no flows, remotes or per-flow rates; procs falls back to TCP socket counters", Fix: grant})
	}
	const fds = "process attribution (/proc/PID/fd)"
	if f.ProcFdsOK {
		rep.Checks = append(rep.Checks, DoctorCheck{Name: fds, OK: true, Detail: f.ProcFdsDetail})
	} else {
		rep.Checks = append(rep.Checks, DoctorCheck{Name: fds, Detail: f.ProcFdsDetail + ": traffic of other users' processes stays unattributed", Fix: grant})
	}
	rep.AllOK = true
	for _, c := range rep.Checks {
		rep.AllOK = rep.AllOK && c.OK
	}
	return rep
}
