// Package views turns a display model into text: the panes of the terminal
// UI (header, view tabs, main table, detail, help, status line), the screen
// layout, the UI state and the keybinding table; and the fleet screen of
// netriage fleet --output tui (FleetModel, FleetState, BuildFleetFrame).
//
// # Purity
//
// Everything here is a pure function of a Model, a terminal size and a
// UIState: no I/O, no clock, no terminal library. The gocui host in
// views/tui places the panes and forwards keys; tests render into strings
// and compare them with golden files (go test ./views -update rewrites
// them).
//
// # Units
//
// Rates in the model are bytes per second (float64), counters are uint64,
// capacities are bits per second, ratios are 0..1. Formatting to bits or
// bytes, SI or IEC, happens only at render time.
//
// # Untrusted text
//
// Every string that can come from outside (process names, command lines,
// DNS names, container names) goes through format.Sanitize (via cell) before
// it is placed on screen, so escape sequences and control characters never
// reach the terminal.
package views
