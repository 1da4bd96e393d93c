// Package webui is `leolab ui`: an HTTP server that shows running labs live
// in a browser (a graph of nodes, bridges and links with their states,
// impairments and per-interface rates, read over netlink once a second and
// pushed as server-sent events), acts on them (link down/up, netem set and
// clear, checks) and opens terminals in nodes (xterm.js over a WebSocket to
// a pty the node's init allocates, as `leolab exec -t` gets it).
//
// Every request needs the random token printed with the page's URL (from
// the URL it becomes an HttpOnly SameSite=Strict cookie; scripts may send it
// in the X-Leolab-Token header): the page opens root shells in the nodes.
// Requests that change anything must come from the page's own origin, and a
// WebSocket upgrade must carry the page's Origin. All assets, third-party
// ones included (assets/vendor, see VENDORED.md), are embedded: the page
// needs no network. The package never creates or removes kernel objects
// itself; it reads them and calls package labs for every change.
package webui
