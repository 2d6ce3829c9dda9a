// Package pgtest gives tests a PostgreSQL schema of their own on the server
// UJUMBE_TEST_PG names (a connection string; .ci/run sets it). Without it the
// tests skip, unless CI is set: CI runs them or fails.
//
// It is for tests and benchmarks only: nothing that ships imports it, and
// it must not touch any schema but the ones it creates.
package pgtest
