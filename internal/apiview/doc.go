// Package apiview holds the JSON shapes of Gatehouse's records as the admin
// API answers and the CLI prints them (--json), and the conversions from
// storage records. Both edges import it, so neither imports the other and
// the two cannot drift apart.
package apiview
