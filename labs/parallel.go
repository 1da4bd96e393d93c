package labs

import (
	"context"
	"sync"

	"github.com/hashicorp/go-multierror"
)

// forEach runs fn(i) for i in [0,n) on at most workers goroutines. After the
// first failure (or when ctx ends) no new item starts; every error that did
// happen is returned, joined.
func forEach(parent context.Context, workers, n int, fn func(i int) error) error {
	if workers < 1 {
		workers = 1
	}
	if workers > n {
		workers = n
	}
	next := make(chan int)
	var (
		mu   sync.Mutex
		errs *multierror.Error
		wg   sync.WaitGroup
	)
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(i); err != nil {
					mu.Lock()
					errs = multierror.Append(errs, err)
					mu.Unlock()
					cancel()
				}
			}
		}()
	}
feed:
	for i := 0; i < n; i++ {
		select {
		case <-ctx.Done():
			break feed
		case next <- i:
		}
	}
	close(next)
	wg.Wait()
	if errs == nil {
		return parent.Err() // interrupted before every item ran
	}
	return errs
}

// forAll runs fn(i) for every i in [0,n) on at most workers goroutines and
// returns every error, joined: destroy goes on past failures.
func forAll(workers, n int, fn func(i int) error) error {
	var mu sync.Mutex
	var errs *multierror.Error
	forEach(context.Background(), workers, n, func(i int) error {
		if err := fn(i); err != nil {
			mu.Lock()
			errs = multierror.Append(errs, err)
			mu.Unlock()
		}
		return nil
	})
	return errs.ErrorOrNil()
}
