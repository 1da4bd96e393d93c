// Package render owns how leolab presents a lab to people: the topology
// diagram (Graphviz dot or Mermaid, where nodes and bridges are vertices and
// bridge ports and links are edges labelled with interface names and
// addresses) and the tables and JSON documents the CLI prints — validate's
// plan (PlanTable, PlanJSON), inspect's and deploy's table and SPEC §4 JSON
// (LabTable, LabsJSON), list (ListTable), pingall's matrix (PingMatrix) and
// netem show's impairments (Netem, also the web UI's). It turns data that
// topology and labs (package labs/view) return into text and never touches
// the host; cmd and webui call it, labs never does.
package render
