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
