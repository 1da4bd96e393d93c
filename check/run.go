package check

import (
	"context"
	"sync"
	"time"

	"leolab/topology"
)

// Result is the outcome of one check, as `check --format json` prints it.
type Result struct {
	Name     string  `json:"name"`
	Kind     string  `json:"kind"`
	Node     string  `json:"node"`
	OK       bool    `json:"ok"`
	Seconds  float64 `json:"seconds"` // until it passed, or until it was given up
	Detail   string  `json:"detail"`  // what was found
	Attempts int     `json:"attempts"`
}

// Options tune Run.
type Options struct {
	Timeout  time.Duration // how long a failing check is retried; 0: one attempt
	Interval time.Duration // pause between attempts of one check (default 500ms)
	Parallel int           // attempts in flight at once (default 8)
	// Waiting, when set, is called once for each check whose first attempt
	// failed, with that attempt's result; Run then retries it.
	Waiting func(Result)
}

// Run runs every check, each retried until it passes or opts.Timeout has
// passed since the start (routing needs time to converge). Checks only read
// the lab, so they all run concurrently; Results come in the checks' order.
func Run(ctx context.Context, lab *Lab, checks []topology.Check, opts Options) []Result {
	if opts.Interval <= 0 {
		opts.Interval = 500 * time.Millisecond
	}
	if opts.Parallel <= 0 {
		opts.Parallel = 8
	}
	start := time.Now()
	deadline := start.Add(opts.Timeout)
	sem := make(chan struct{}, opts.Parallel)
	results := make([]Result, len(checks))
	var wg sync.WaitGroup
	var mu sync.Mutex // serialises Waiting
	for i := range checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			waiting := func(r Result) {
				if opts.Waiting != nil {
					mu.Lock()
					opts.Waiting(r)
					mu.Unlock()
				}
			}
			results[i] = lab.retry(ctx, &checks[i], start, deadline, opts.Interval, sem, waiting)
		}()
	}
	wg.Wait()
	return results
}

// attemptLimit bounds one attempt (an exec check's command, a ping).
const attemptLimit = 30 * time.Second

func (l *Lab) retry(ctx context.Context, c *topology.Check, start, deadline time.Time, interval time.Duration,
	sem chan struct{}, waiting func(Result)) Result {
	r := Result{Name: c.Name, Kind: c.Kind, Node: c.Node}
	for {
		limit := time.Until(deadline)
		if limit < time.Second {
			limit = time.Second // the last attempt still gets a ping's second
		}
		actx, cancel := context.WithTimeout(ctx, min(limit, attemptLimit))
		sem <- struct{}{}
		ok, detail, err := l.once(actx, c)
		<-sem
		cancel()
		r.Attempts++
		r.OK, r.Detail = ok, detail
		if err != nil {
			r.Detail = "error: " + err.Error()
		}
		r.Seconds = time.Since(start).Seconds()
		if ok || ctx.Err() != nil || !time.Now().Add(interval).Before(deadline) {
			return r
		}
		if r.Attempts == 1 {
			waiting(r)
		}
		if sleepCtx(ctx, interval) != nil {
			return r
		}
	}
}

// Passed reports whether every result passed.
func Passed(results []Result) bool {
	for _, r := range results {
		if !r.OK {
			return false
		}
	}
	return true
}
