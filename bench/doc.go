// Package bench holds leolab's performance harness: `make bench` runs
// ./bench/leobench (deploy/destroy/exec/memory of leolab against the
// raw-baseline.sh script and Mininet), and this package's tests profile a
// large deploy in-process (go test ./bench/ -run TestProfileDeploy).
package bench
