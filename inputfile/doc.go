// Package inputfile opens the files a user names as input — configuration,
// CSV and variables files, saved plans, the rehearsal settings — and refuses
// anything but a regular file. A named pipe given by mistake would otherwise
// block the read for good, deaf to Ctrl-C, and a device such as /dev/zero
// would be read until memory runs out.
//
// It only reads; writing files safely is package atomicfile's job.
//
// It must not import other ujumbe packages.
package inputfile
