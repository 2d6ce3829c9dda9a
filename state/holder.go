package state

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
)

// Holder reports whether another run holds the lock of the state at path,
// without taking the lock or waiting for it: a look that took it, even for
// a moment, could make a run starting then fail to lock. info describes
// the holder; nil when it has not written its description yet. Where the
// system cannot tell (see heldFlock), held is false.
func Holder(path string) (info *LockInfo, held bool) {
	f, err := os.Open(path + ".lock")
	if err != nil {
		return nil, false
	}
	defer f.Close()
	// The description first: where the kernel names the lock's file by
	// another device (a btrfs subvolume), the holder's pid tells it
	// (flockListed).
	info = readHolder(f)
	pid := 0
	if info != nil {
		pid = info.PID
	}
	if !heldFlock(f, pid) {
		return nil, false
	}
	return info, true
}

// PGHolder is Holder for the state in PostgreSQL at pg: whether a session
// holds its advisory lock, and the description the holder left.
func PGHolder(ctx context.Context, pg PG) (info *LockInfo, held bool, err error) {
	conn, err := connect(ctx, pg)
	if err != nil {
		return nil, false, err
	}
	defer conn.Close(context.Background())
	err = conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted
		AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
		AND classid = $1::int4::oid AND objid = hashtext($2)::oid AND objsubid = 2)`, pgLockClass, pg.Schema).Scan(&held)
	if err != nil {
		return nil, false, pgError(pg, "look for the lock's holder of the", err)
	}
	if !held {
		return nil, false, nil
	}
	j := &pgJournal{pg: pg, schema: pgx.Identifier{pg.Schema}.Sanitize(), conn: conn}
	return j.holderInfo(ctx), true, nil
}

// String describes the run h: its process, host, user, operation and
// start, and the lock's ID.
func (h *LockInfo) String() string {
	op := ""
	if h.Operation != "" {
		op = fmt.Sprintf(" running %q", h.Operation)
	}
	return fmt.Sprintf("pid %d on %s (user %s)%s since %s, lock ID %s",
		h.PID, h.Host, h.User, op, h.Started.Format(time.RFC3339), h.ID)
}
