// Package dataplane runs shipsafe's gateway as a process of its own, so traffic keeps flowing
// while the control plane is down, and gives the control plane a client for it.
//
// The process serves client traffic on one loopback address (the gateway) and a small admin
// API on another: replace routes, read per-revision snapshots for analysis, health. It writes
// its addresses and pid to a state file in the data dir; a restarted control plane reads that
// file and adopts the running data plane instead of starting a second one.
package dataplane
