// Package output renders the line-oriented output of the scriptable
// subcommands: flows and replay (FlowsWriter), procs, conns and remotes
// (WhoWriter), links (LinksWriter) and doctor (WriteDoctor), each as a
// table, NDJSON (docs/json.md) and, where the subcommand offers it, CSV.
//
// Every format is rendered from the triage types (flows.Snapshot,
// attrib.Report, triage.LinkRow) on its own: no format is made from
// another's record. Addresses and ports stay netip.Addr and numbers until
// here and are turned into text once, by the writer.
//
// The package is pure: writers write to an io.Writer, read no clock and do
// no I/O of their own. What needs the host (reverse-DNS names, service
// names of ports) comes in as functions.
//
// # Untrusted text
//
// Interface, process, container and DNS names, command lines, capture
// filters and error strings come from outside: every writer passes them
// through format.Sanitize (control characters and escape sequences never
// reach a terminal or a JSON string), with the same length caps in every
// format.
package output
