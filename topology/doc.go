// Package topology owns the lab topology file: parsing YAML with positions,
// applying defaults, validating every rule of SPEC §1 and resolving the file
// into a Plan in which every address, device name, MAC and route is decided.
// It never changes anything on the host; what it reads of the host (routes,
// running labs) comes through the HostView interface.
package topology
