// Package render owns how leolab presents a lab to people: the topology
// diagram (Graphviz dot or Mermaid, where nodes and bridges are vertices and
// bridge ports and links are edges labelled with interface names and
// addresses) and the tables and JSON documents the CLI prints. It turns data
// that topology and labs return into text and never touches the host; the
// commands in cmd call it, labs never does.
package render
