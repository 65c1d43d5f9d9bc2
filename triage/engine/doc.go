// Package engine is netriage's one loop: it is given its inputs, steps them
// in time, runs the triage stages and hands each step's immutable Snapshot
// to the subcommand's emit function.
//
// # Inputs
//
// The engine opens nothing and reads no clock. sources/inputs builds
// Inputs from a subcommand's options: a Timeline that says when each step
// is due (a ticker on the real clock for live runs, the packets' own time
// for a capture file), and optional readers of interface counters, flows
// and the socket table. Each reader is an interface of plain triage types, so
// engine tests drive the engine with scripted fakes and no host I/O.
//
// # Steps
//
// A Timeline tick is a sub-step; every Config.SubSteps-th one is a step.
// On every sub-step the socket table is refreshed, so connections shorter
// than an interval are still seen; on a step the engine also samples the
// link counters, takes the flow snapshot, joins flows to owners, evaluates
// the verdict over the window and emits one Snapshot. The first step comes
// at the Timeline's first tick; its link rates need a second one.
//
// # Health
//
// Every input's state is recorded in Snapshot.Health by the engine, one
// entry per input: ok, degraded (with why), or absent (with why). Writers
// and views show those, never strings of their own.
package engine
