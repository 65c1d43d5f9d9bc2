package main

import (
	"context"
	"fmt"
	"os"

	"netriage/sources/inputs"
	"netriage/sources/links"
	"netriage/sources/privs"
	"netriage/views/output"
)

func init() {
	register(&command{name: "doctor", summary: "what this host allows, what is missing and how to grant it", run: runDoctor})
}

func runDoctor(_ context.Context, env *cmdEnv, args []string) int {
	var cf commonFlags
	fs := newFlagSet("doctor")
	cf.addOutput(fs, "table", "json")
	cf.addConfig(fs)
	cf.addNetns(fs)
	cf.addLinkSpeed(fs)
	done, err := parseFlags(env, fs, args)
	if done {
		return exitOK
	}
	if err != nil {
		return fail(env, "doctor", err)
	}
	cfg, err := cf.resolve()
	if err != nil {
		return fail(env, "doctor", err)
	}
	facts := output.DoctorFacts{EUID: os.Geteuid(), Executable: inputs.Executable(), UserBps: cfg.Links.SpeedsBps()}
	if have, err := privs.Have(); err == nil {
		facts.Caps = map[string]bool{}
		for _, c := range []privs.Cap{privs.CapNetRaw, privs.CapNetAdmin, privs.CapDacReadSearch, privs.CapSysPtrace} {
			facts.Caps[c.String()] = have.Has(c)
		}
	}
	// Interface counters: netlink, no privilege needed.
	if r, err := links.Open(links.Options{Netns: cf.netns}); err != nil {
		facts.LinksErr, facts.OpenFailed = err, true
	} else {
		s, err := r.Read()
		r.Close()
		if facts.LinksErr = err; err == nil {
			warnings, err := inputs.CheckLinkSpeeds(cfg, cf.linkSpeeds, &s)
			if err != nil {
				return fail(env, "doctor", err)
			}
			for _, w := range warnings {
				fmt.Fprintf(env.stderr, "netriage doctor: %s\n", w)
			}
			facts.Links = &s
		}
	}
	facts.PacketErr = privs.ProbePacketSocket()
	var fds privs.ProcFdProbe
	privs.WithProcAccess(func() { fds = privs.ProbeProcFds() })
	facts.ProcFdsOK, facts.ProcFdsDetail = fds.OK, fds.Detail
	rep := output.NewDoctorReport(facts)
	if err := output.WriteDoctor(env.stdout, rep, cf.output); err != nil {
		return fail(env, "doctor", fmt.Errorf("write output: %w", err))
	}
	if rep.AllOK {
		return exitOK
	}
	return exitFailure
}
