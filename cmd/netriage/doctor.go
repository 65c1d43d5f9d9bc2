package main

import (
	"context"
	"fmt"
	"os"

	"netriage/sources/inputs"
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
	cfg, done, err := cf.parse(env, fs, args)
	if done || err != nil {
		return failOrHelp(env, "doctor", err)
	}
	h, err := inputs.ProbeHost(cf.netns, cfg, cf.linkSpeeds)
	if err != nil {
		return fail(env, "doctor", err)
	}
	for _, w := range h.Warnings {
		fmt.Fprintf(env.stderr, "netriage doctor: %s\n", w)
	}
	facts := output.DoctorFacts{EUID: os.Geteuid(), Executable: inputs.Executable(), UserBps: cfg.Links.SpeedsBps(), Caps: h.Caps,
		Links: h.Links, LinksErr: h.LinksErr, OpenFailed: h.OpenFailed, PacketErr: h.PacketErr, ProcFdsOK: h.ProcFds.OK, ProcFdsDetail: h.ProcFds.Detail}
	rep := output.NewDoctorReport(facts)
	if err := output.WriteDoctor(env.stdout, rep, cf.output); err != nil {
		return fail(env, "doctor", fmt.Errorf("write output: %w", err))
	}
	if rep.AllOK {
		return exitOK
	}
	return exitFailure
}
