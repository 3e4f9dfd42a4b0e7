// Package registry is regwasm's core: the netdata-style registry of persons (browser
// identities), machines (monitoring agents) and the URLs that link them, its actions (hello,
// access, delete, search, switch, expire), its netdata JSON responses, and the binary request
// batches that every host sends through the WebAssembly module.
//
// The package does no I/O and keeps no globals: persistence goes through the Storage
// interface, randomness through Config.Rand, time through the caller.
//
// # Notes
//
// Tables are index-based and pointer-free (persons, machines, person-URLs and machine-URLs
// live in slices of plain structs; URLs and names are interned in byte arenas), so a registry
// of millions of entries costs the garbage collector almost nothing to scan and a few dozen
// bytes per person-URL. See RATIONALE.md.
package registry
