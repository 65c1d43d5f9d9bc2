package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"text/tabwriter"

	"golang.org/x/sys/unix"

	"netriage/sources/links"
	"netriage/sources/privs"
	"netriage/triage"
	"netriage/views/format"
)

func init() {
	register(&command{name: "doctor", summary: "what this host allows, what is missing and how to grant it", run: runDoctor})
}

const doctorUsage = `Usage: netriage doctor [flags]

Checks what netriage can do on this host: its effective capabilities
(CAP_NET_RAW, CAP_NET_ADMIN, CAP_DAC_READ_SEARCH, CAP_SYS_PTRACE), the
interfaces and where their capacity comes from, whether packet capture and
process attribution will work, and for each missing item what it costs and
how to grant it. Exits 0 when everything works, 1 when something is missing.`

// doctorCap is one capability netriage uses.
type doctorCap struct {
	Name  string `json:"name"`
	Bit   int    `json:"-"`
	Have  bool   `json:"have"`
	Needs string `json:"needed_for"`
}

// doctorCheck is one feature check.
type doctorCheck struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

type doctorIface struct {
	Name           string  `json:"name"`
	OperState      string  `json:"oper_state"`
	CapacityBps    *uint64 `json:"capacity_bps"`
	CapacitySource string  `json:"capacity_source"`
	Qdisc          string  `json:"qdisc"`
}

type doctorReport struct {
	EUID         int           `json:"euid"`
	Capabilities []doctorCap   `json:"capabilities"`
	Checks       []doctorCheck `json:"checks"`
	Interfaces   []doctorIface `json:"interfaces"`
	AllOK        bool          `json:"all_ok"`
}

func runDoctor(_ context.Context, env *cmdEnv, args []string) int {
	var cf commonFlags
	fs := newFlagSet("doctor")
	cf.addOutput(fs, "table", "json")
	cf.addConfig(fs)
	cf.addNetns(fs)
	cf.addLinkSpeed(fs)
	done, err := parseFlags(env, fs, doctorUsage, args)
	if done {
		return exitOK
	}
	if err != nil {
		return fail(env, "doctor", err)
	}
	if fs.NArg() > 0 {
		return fail(env, "doctor", usageErrorf("unexpected argument %q", fs.Arg(0)))
	}
	cfg, err := cf.resolve()
	if err != nil {
		return fail(env, "doctor", err)
	}
	rep := doctorReport{EUID: os.Geteuid()}
	have, capErr := privs.Have()
	rep.Capabilities = []doctorCap{
		{Name: "CAP_NET_RAW", Bit: unix.CAP_NET_RAW, Needs: "packet capture (flows, remotes, per-flow rates; -p too)"},
		{Name: "CAP_NET_ADMIN", Bit: unix.CAP_NET_ADMIN, Needs: "some netlink queries"},
		{Name: "CAP_DAC_READ_SEARCH", Bit: unix.CAP_DAC_READ_SEARCH, Needs: "reading other users' /proc/PID/fd (process attribution)"},
		{Name: "CAP_SYS_PTRACE", Bit: unix.CAP_SYS_PTRACE, Needs: "reading other users' /proc/PID/fd links (process attribution)"},
	}
	for i := range rep.Capabilities {
		c := &rep.Capabilities[i]
		c.Have = capErr == nil && have.Has(privs.Cap(c.Bit))
	}
	exe, _ := os.Executable()
	if exe == "" {
		exe = "netriage"
	}
	grant := "run with sudo, or: sudo setcap cap_net_raw,cap_net_admin,cap_dac_read_search,cap_sys_ptrace+ep " + exe

	// Interface counters: netlink, no privilege needed.
	r, err := links.Open(links.Options{Netns: cf.netns})
	if err != nil {
		rep.Checks = append(rep.Checks, doctorCheck{Name: "interface counters (netlink)", Detail: err.Error(),
			Fix: "check the --netns value; entering another namespace needs root"})
	} else {
		s, rerr := r.Read()
		r.Close()
		if rerr != nil {
			rep.Checks = append(rep.Checks, doctorCheck{Name: "interface counters (netlink)", Detail: rerr.Error()})
		} else {
			warnings, err := cf.checkLinkSpeeds(cfg, &s)
			if err != nil {
				return fail(env, "doctor", err)
			}
			for _, w := range warnings {
				fmt.Fprintf(env.stderr, "netriage doctor: %s\n", w)
			}
			rep.Checks = append(rep.Checks, doctorCheck{Name: "interface counters (netlink)", OK: true,
				Detail: fmt.Sprintf("%d interfaces; 'netriage links' works", len(s.Ifaces))})
			user := cfg.Links.SpeedsBps()
			unknown := 0
			for _, i := range s.Ifaces {
				c := triage.ResolveCapacity(user[i.Name], i)
				di := doctorIface{Name: format.Sanitize(i.Name, 32), OperState: i.OperState, CapacitySource: string(c.Source), Qdisc: "-"}
				if c.Known {
					di.CapacityBps = &c.Bps
				} else if i.IsUp() && !i.Loopback {
					unknown++
				}
				if i.Qdisc != nil {
					di.Qdisc = i.Qdisc.Kind
				}
				rep.Interfaces = append(rep.Interfaces, di)
			}
			if unknown > 0 {
				// Informational: utilisation is unknown there, saturation
				// still shows through queue drops. Not a failure.
				rep.Checks = append(rep.Checks, doctorCheck{Name: "link capacity", OK: true,
					Detail: fmt.Sprintf("%d interface(s) up with unknown capacity: no utilisation %% for them", unknown),
					Fix:    "give it with --link-speed IF=RATE or links.speeds in the config file"})
			}
		}
	}

	// Packet capture: try to open an AF_PACKET socket.
	if fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0); err == nil {
		unix.Close(fd)
		rep.Checks = append(rep.Checks, doctorCheck{Name: "packet capture (AF_PACKET)", OK: true, Detail: "flows, remotes and per-flow rates work"})
	} else {
		rep.Checks = append(rep.Checks, doctorCheck{Name: "packet capture (AF_PACKET)", Detail: "cannot open a packet socket (" + err.Error() + "): no flows, remotes or per-flow rates; procs falls back to TCP socket counters", Fix: grant})
	}

	// Process attribution: other users' /proc/PID/fd.
	var ok bool
	var detail string
	privs.WithProcAccess(func() { ok, detail = doctorProcFds() })
	if ok {
		rep.Checks = append(rep.Checks, doctorCheck{Name: "process attribution (/proc/PID/fd)", OK: true, Detail: detail})
	} else {
		rep.Checks = append(rep.Checks, doctorCheck{Name: "process attribution (/proc/PID/fd)", Detail: detail + ": traffic of other users' processes stays unattributed", Fix: grant})
	}
	rep.AllOK = true
	for _, c := range rep.Checks {
		rep.AllOK = rep.AllOK && c.OK
	}
	if cf.output == "json" {
		b, _ := json.Marshal(rep)
		fmt.Fprintf(env.stdout, "%s\n", b)
	} else {
		doctorTable(env.stdout, rep)
	}
	if rep.AllOK {
		return exitOK
	}
	return exitFailure
}

func doctorTable(w io.Writer, rep doctorReport) {
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
		if !c.OK {
			st = "MISSING"
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
	if rep.AllOK {
		fmt.Fprintln(tw, "\nall checks passed")
	} else {
		fmt.Fprintln(tw, "\nsome features are unavailable: see the fix lines above")
	}
	tw.Flush()
}

// doctorProcFds tries to list the fds of a process owned by another user
// (PID 1 is usually root's). It reports whether that worked.
func doctorProcFds() (bool, string) {
	uid := os.Geteuid()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return false, "cannot read /proc: " + err.Error()
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		var st unix.Stat_t
		if unix.Stat("/proc/"+e.Name(), &st) != nil || int(st.Uid) == uid {
			continue
		}
		if _, err := os.ReadDir("/proc/" + e.Name() + "/fd"); err != nil {
			return false, fmt.Sprintf("cannot read /proc/%d/fd (uid %d)", pid, st.Uid)
		}
		return true, fmt.Sprintf("other users' sockets visible (checked /proc/%d/fd)", pid)
	}
	if _, err := os.ReadDir("/proc/self/fd"); err != nil {
		return false, "cannot read /proc/self/fd"
	}
	return true, "no other user's process found; own processes visible"
}
