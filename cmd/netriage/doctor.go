package main

import (
	"context"
	"fmt"
	"os"

	"netriage/sources/links"
	"netriage/sources/privs"
	"netriage/views/output"
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
	rep := output.DoctorReport{EUID: os.Geteuid()}
	have, capErr := privs.Have()
	for _, c := range []struct {
		c     privs.Cap
		needs string
	}{
		{privs.CapNetRaw, "packet capture (flows, remotes, per-flow rates; -p too)"},
		{privs.CapNetAdmin, "some netlink queries"},
		{privs.CapDacReadSearch, "reading other users' /proc/PID/fd (process attribution)"},
		{privs.CapSysPtrace, "reading other users' /proc/PID/fd links (process attribution)"},
	} {
		rep.Capabilities = append(rep.Capabilities, output.DoctorCap{Name: c.c.String(), Have: capErr == nil && have.Has(c.c), Needs: c.needs})
	}
	exe, _ := os.Executable()
	if exe == "" {
		exe = "netriage"
	}
	grant := "run with sudo, or: sudo setcap cap_net_raw,cap_net_admin,cap_dac_read_search,cap_sys_ptrace+ep " + exe

	// Interface counters: netlink, no privilege needed.
	r, err := links.Open(links.Options{Netns: cf.netns})
	if err != nil {
		rep.Checks = append(rep.Checks, output.DoctorCheck{Name: "interface counters (netlink)", Detail: err.Error(),
			Fix: "check the --netns value; entering another namespace needs root"})
	} else {
		s, rerr := r.Read()
		r.Close()
		if rerr != nil {
			rep.Checks = append(rep.Checks, output.DoctorCheck{Name: "interface counters (netlink)", Detail: rerr.Error()})
		} else {
			warnings, err := cf.checkLinkSpeeds(cfg, &s)
			if err != nil {
				return fail(env, "doctor", err)
			}
			for _, w := range warnings {
				fmt.Fprintf(env.stderr, "netriage doctor: %s\n", w)
			}
			rep.Checks = append(rep.Checks, output.DoctorCheck{Name: "interface counters (netlink)", OK: true,
				Detail: fmt.Sprintf("%d interfaces; 'netriage links' works", len(s.Ifaces))})
			var unknown int
			rep.Interfaces, unknown = output.DoctorInterfaces(&s, cfg.Links.SpeedsBps())
			if unknown > 0 {
				// A warning: utilisation is unknown there (saturation still
				// shows through queue drops). Not a failure.
				rep.Checks = append(rep.Checks, output.DoctorCheck{Name: "link capacity", OK: true, Warn: true,
					Detail: fmt.Sprintf("%d interface(s) up with unknown capacity: no utilisation %% for them", unknown),
					Fix:    "give it with --link-speed IF=RATE or links.speeds in the config file"})
			}
		}
	}

	// Packet capture: try to open an AF_PACKET socket.
	if err := privs.ProbePacketSocket(); err == nil {
		rep.Checks = append(rep.Checks, output.DoctorCheck{Name: "packet capture (AF_PACKET)", OK: true, Detail: "flows, remotes and per-flow rates work"})
	} else {
		rep.Checks = append(rep.Checks, output.DoctorCheck{Name: "packet capture (AF_PACKET)", Detail: "cannot open a packet socket (" + err.Error() + "): no flows, remotes or per-flow rates; procs falls back to TCP socket counters", Fix: grant})
	}

	// Process attribution: other users' /proc/PID/fd.
	var fds privs.ProcFdProbe
	privs.WithProcAccess(func() { fds = privs.ProbeProcFds() })
	if fds.OK {
		rep.Checks = append(rep.Checks, output.DoctorCheck{Name: "process attribution (/proc/PID/fd)", OK: true, Detail: fds.Detail})
	} else {
		rep.Checks = append(rep.Checks, output.DoctorCheck{Name: "process attribution (/proc/PID/fd)", Detail: fds.Detail + ": traffic of other users' processes stays unattributed", Fix: grant})
	}
	rep.AllOK = true
	for _, c := range rep.Checks {
		rep.AllOK = rep.AllOK && c.OK
	}
	if err := output.WriteDoctor(env.stdout, rep, cf.output); err != nil {
		return fail(env, "doctor", fmt.Errorf("write output: %w", err))
	}
	if rep.AllOK {
		return exitOK
	}
	return exitFailure
}
