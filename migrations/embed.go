// Package migrations embeds the SQL migrations that golang-migrate applies.
//
// Files are named NNNN_title.up.sql / NNNN_title.down.sql; every up has a
// down so that the round trip (up, down to zero, up) is tested.
package migrations

import "embed"

// FS holds every *.sql file of this directory.
//
//go:embed *.sql
var FS embed.FS
