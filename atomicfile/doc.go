// Package atomicfile writes output files safely to what they are. A regular
// file (or a new path) is replaced whole, so that a crash at any moment
// leaves either the old or the new content at the path, never a mix, an
// empty file or a missing one. Anything else that already exists at the path
// — a device such as /dev/null, a named pipe, a symbolic link such as
// /dev/stdout — is written through, never replaced.
//
// It must not import other ujumbe packages, and only writes: reading input
// files is package inputfile's job.
package atomicfile
