// Package items is standalone items (modules, processes, pushes, copies) across the members of a
// cluster: each member keeps and indexes the items it stored, so this package makes the cluster
// answer as one store would. It owns Publish (a published item is copied to every member, so a
// module published through one node spawns through any other), Query (a GraphQL transactions query
// by tags or owners asked of every member of the view and merged by cursor into the page one store
// holding the union would answer) and their member sides (Serve).
//
// It must not store or index anything itself, nor decide membership: the member's own store is
// reached through Local, and the members are the view it is given. It never asks further than one
// hop (a member answers from its own store only), so no request loops.
package items
