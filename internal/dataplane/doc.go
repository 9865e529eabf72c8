// Package dataplane runs shipsafe's gateway as a process of its own, so traffic keeps flowing
// while the control plane is down, and gives the control plane a client for it.
//
// The process serves client traffic on one loopback address (the gateway) and a small admin
// API on another: replace routes, read per-revision snapshots for analysis, health. It writes
// its addresses and pid to a state file in the data dir; a restarted control plane reads that
// file and adopts the running data plane instead of starting a second one.
//
// The control plane supervises it (Handle.Supervise): it holds the traffic socket itself,
// keeps a warm standby process on it, and on a crash hands the socket to the standby with
// the stored route table, so clients are never refused and traffic is back in tens of
// milliseconds. docs/embedded.md has the design and the measurements.
package dataplane
