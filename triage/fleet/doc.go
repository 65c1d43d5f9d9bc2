// Package fleet is the pure half of `netriage fleet`: the PromQL it asks a
// Prometheus server (Queries), and the model it builds from the answers
// (Build): the links of the fleet that are saturated or congested now or
// were in the window, worst first, each with the top processes and remotes
// of its host and direction. It does no I/O and reads no clock; the time
// of a report is the evaluation time the server stamped on its samples.
//
// # Queries
//
// Every query reads the metrics of `netriage serve` (docs/metrics.md) and,
// where the mixin records one (configs/mixin/rules.yml), the recorded
// series, with the raw expression after `or` so a server without the
// rules still answers: `recorded or rate(raw[5m])`. The two have the same
// labels, so `or` keeps the recorded value where it exists.
//
// # Joining talkers to links
//
// The talker families carry the capture's scope as `interface`: the one
// captured interface, several joined by commas, or `any`. A link's talkers
// are those of the same instance and direction whose scope is the link's
// interface, lists it, or is `any` (docs/metrics.md, "Conventions").
//
// # Order
//
// Worst first: saturated now, then congested now, then the others; within
// each, more saturated seconds in the window, then more congested seconds,
// then higher utilisation; ties by host, interface and direction.
package fleet
