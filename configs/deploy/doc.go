// Package deploy holds the deployment examples of `netriage serve`: a
// systemd unit (netriage-serve.service) and a Kubernetes DaemonSet
// (daemonset.yaml). docs/fleet.md explains both.
//
// # Tests
//
// The package has no code. Its Go test checks what each file must say
// (no root, the capabilities serve needs and no others, hardening, the
// port and paths the arguments name), runs `systemd-analyze verify` on
// the unit (skipped with a message when systemd-analyze is missing; it
// is in the Debian package systemd, which `make deps` installs), and
// decodes the DaemonSet strictly into a struct of the fields it uses, so
// a misspelt key fails.
package deploy
