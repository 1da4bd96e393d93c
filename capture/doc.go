// Package capture records packets from interfaces of running labs into one
// pcapng stream. Each endpoint is read inside its own network namespace
// through an AF_PACKET socket with a TPACKET_V3 memory-mapped ring (pure Go,
// no libpcap); the packets of all endpoints are merged in time order and
// written with gopacket's pcapgo NgWriter, one Interface Description Block
// per endpoint named as the user wrote it ("NODE:IFACE"), and one Interface
// Statistics Block per endpoint at the end carrying the kernel's drop count.
//
// The package owns only the sockets it opens; it never changes an interface,
// a namespace or anything else of the lab, except that its sockets hold
// their interfaces promiscuous while open (as tcpdump's do; the kernel
// undoes it when the socket closes). It knows nothing of labs: callers
// (labs.Manager) resolve "NODE:IFACE" to a namespace path and a device.
package capture
