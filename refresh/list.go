package refresh

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ujumbe/ujumbe/briq"
)

const (
	// messagePage and conversationPage are the largest pages Briq serves.
	messagePage      = 200
	conversationPage = 100
	// maxAttempts bounds the tries of one read.
	maxAttempts = 4
	// maxRetryWait is the longest Retry-After a read waits for; a longer
	// one fails the run rather than park it.
	maxRetryWait = 2 * time.Minute
	// writers is how many records are submitted to the store at once: its
	// writer commits concurrent records with one fdatasync.
	writers = 64
)

// call makes one read, counting it, and tries it again (counting again)
// when it failed in a way a later try may not: 429, 5xx, timeouts and lost
// connections. Reads are idempotent, so in doubt only means transient here.
func call[T any](ctx context.Context, r *run, f func() (T, error)) (T, error) {
	delay := r.opts.RetryDelay
	for attempt := 1; ; attempt++ {
		r.requests.Add(1)
		v, err := f()
		if err == nil || attempt == maxAttempts || ctx.Err() != nil {
			return v, err
		}
		switch briq.ClassOf(err) {
		case briq.RateLimited, briq.InDoubt, briq.NeverReached:
		default:
			return v, err
		}
		wait := delay
		var be *briq.Error
		if errors.As(err, &be) && be.RetryAfter > wait {
			wait = be.RetryAfter
		}
		if wait > maxRetryWait {
			return v, err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return v, err
		case <-t.C:
		}
		delay *= 2
	}
}

// eachPage reads an offset-paged listing page by page (each page through
// call) and hands every item to fn. It stops after an empty page, when the
// offset reaches the listing's total, or, without a total, after a page
// shorter than the page size the server says it used. It is briq's paging
// rule, kept here because refresh counts and retries every page.
func eachPage[T any](ctx context.Context, r *run, limit int, fetch func(limit, offset int) (*briq.Page[T], error), fn func(*T)) error {
	offset := 0
	for {
		p, err := call(ctx, r, func() (*briq.Page[T], error) { return fetch(limit, offset) })
		if err != nil {
			return err
		}
		for i := range p.Items {
			fn(&p.Items[i])
		}
		offset += len(p.Items)
		size := limit
		if p.Limit > 0 {
			size = p.Limit
		}
		if len(p.Items) == 0 || p.Total > 0 && offset >= p.Total || p.Total <= 0 && len(p.Items) < size {
			return nil
		}
	}
}

// eachMessage hands fn every message q matches, newest first.
func (r *run) eachMessage(ctx context.Context, q briq.MessageQuery, fn func(*briq.Message)) error {
	_, err := r.listMessages(ctx, q, fn)
	return err
}

// listMessages is eachMessage that also returns the provider's clock as
// the listing began: its first page's Date, zero when it gave none.
func (r *run) listMessages(ctx context.Context, q briq.MessageQuery, fn func(*briq.Message)) (began time.Time, err error) {
	err = eachPage(ctx, r, messagePage, func(limit, offset int) (*briq.Page[briq.Message], error) {
		q.Limit, q.Offset = limit, offset
		p, err := r.c.ListMessages(ctx, q)
		if err == nil && offset == 0 {
			began = p.Date
		}
		return p, err
	}, fn)
	return began, err
}

// forEach calls fn(ctx, i) for every i in [0, n) on at most workers
// goroutines and returns the first error. After an error, or once ctx is
// done, no further call starts.
func forEach(ctx context.Context, n, workers int, fn func(ctx context.Context, i int) error) error {
	inner, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		next  atomic.Int64
		mu    sync.Mutex
		first error
		wg    sync.WaitGroup
	)
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for inner.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(inner, i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					cancel()
					return
				}
			}
		}()
	}
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return first
}
