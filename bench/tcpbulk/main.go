// Command tcpbulk is the load generator of bench/capture-bench.sh: a
// static TCP sender and receiver to run inside lab nodes (busybox nc moves
// only a few hundred Mbit/s).
//
//	tcpbulk -l PORT            accept one connection, discard what it sends, print the byte count
//	tcpbulk -c ADDR:PORT -n N  send N bytes of zeros
package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"os"
)

func main() {
	listen := flag.String("l", "", "port to listen on")
	connect := flag.String("c", "", "address:port to send to")
	n := flag.Int64("n", 1<<30, "bytes to send")
	flag.Parse()
	var err error
	switch {
	case *listen != "":
		err = receive(*listen)
	case *connect != "":
		err = send(*connect, *n)
	default:
		err = fmt.Errorf("want -l PORT or -c ADDR:PORT")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "tcpbulk:", err)
		os.Exit(1)
	}
}

func receive(port string) error {
	ln, err := net.Listen("tcp", ":"+port)
	if err != nil {
		return err
	}
	c, err := ln.Accept()
	if err != nil {
		return err
	}
	got, err := io.CopyBuffer(io.Discard, c, make([]byte, 1<<20))
	fmt.Println(got)
	return err
}

func send(addr string, n int64) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	buf := make([]byte, 1<<20)
	for n > 0 {
		k, err := c.Write(buf[:min(int64(len(buf)), n)])
		if err != nil {
			return err
		}
		n -= int64(k)
	}
	return c.Close()
}
