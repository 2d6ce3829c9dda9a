// Package goldenfile compares test output with golden files in testdata, or
// rewrites them when a test runs with -update (Check). The golden tests of
// config, plan, report and state go through it, so -update means the same
// in each (command's goldens are testscript cmp files, which testscript's
// UpdateScripts rewrites).
//
// It is for tests only: nothing that ships imports it.
package goldenfile
