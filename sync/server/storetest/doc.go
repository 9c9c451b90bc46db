// Package storetest is the conformance suite every server.Store backend
// passes: call RunTests from the backend's own tests with a function that
// opens a fresh, empty store.
package storetest
