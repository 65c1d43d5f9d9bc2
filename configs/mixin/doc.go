// Package mixin holds netriage's Prometheus mixin for `netriage serve`:
// recording rules (rules.yml), alerts (alerts.yml), their promtool unit
// tests (tests/*.yml) and a Grafana dashboard for the fleet
// (dashboard.json). docs/fleet.md explains how to load them and what each
// alert means.
//
// # Tests
//
// The package has no code. Its Go test checks what promtool does not:
// every alert has a case that fires, one that does not and one that
// resolves; every metric an expression names is documented in
// docs/metrics.md; every recorded series an expression uses is recorded
// here; and the dashboard parses, with the panels and queries the fleet
// view needs. `make mixin` runs promtool's own checks.
package mixin
