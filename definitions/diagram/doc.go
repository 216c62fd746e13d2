// Package diagram draws procedure definitions for process designers: as
// Mermaid flowchart text (for documentation and Markdown renderers) and as
// a self-contained SVG image laid out in pure Go.
//
// Both show the same picture: human tasks, service steps, waits,
// decisions, parallel branches, for-each bodies, sub-procedures and ends
// each have their own shape and colour; labels carry roles, activities,
// events, due dates, deadlines and deadline clocks; deadline-expiry paths
// are drawn dotted in red.
package diagram
