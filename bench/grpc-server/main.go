// Command routeguide-bench is a fast route guide server for bench/grpc.py (not a test): Go's
// grpc-go, answering GetFeature with one Feature and ListFeatures with -list Features, after
// -delay; with -stall, every call handled from -stall-after past the server's first call until
// the stall ends waits for that end. Requests are not decoded (a pass-through codec): the
// benchmark measures clients.
// It listens on 127.0.0.1, port 0, and prints "PORT <n>".
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// raw hands message bytes through unchanged (registered under the name "proto", so clients
// speaking protobuf are served).
type raw struct{}

func (raw) Marshal(v any) ([]byte, error) { return *(v.(*[]byte)), nil }
func (raw) Unmarshal(data []byte, v any) error {
	*(v.(*[]byte)) = append([]byte(nil), data...)
	return nil
}
func (raw) Name() string { return "proto" }

// feature is routeguide.Feature{name: "Mendham, NJ", location: {407838351, -746143763}},
// encoded by hand.
func feature() []byte {
	name := "Mendham, NJ"
	point := []byte{0x08}
	point = appendVarint(point, 407838351)
	point = append(point, 0x10)
	lon := int64(-746143763)
	point = appendVarint(point, uint64(lon))
	out := []byte{0x0a, byte(len(name))}
	out = append(out, name...)
	out = append(out, 0x12, byte(len(point)))
	return append(out, point...)
}

func appendVarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

func main() {
	delay := flag.Duration("delay", 0, "wait before answering each call")
	list := flag.Int("list", 3, "features per ListFeatures call")
	stallAfter := flag.Duration("stall-after", 0, "when the stall starts, after the first call")
	stall := flag.Duration("stall", 0, "how long the server stalls")
	flag.Parse()
	f := feature()
	var first time.Time
	var once sync.Once
	handler := func(_ any, stream grpc.ServerStream) error {
		method, _ := grpc.MethodFromServerStream(stream)
		var req []byte
		if err := stream.RecvMsg(&req); err != nil {
			return err
		}
		now := time.Now()
		once.Do(func() { first = now })
		if *stall > 0 {
			from := first.Add(*stallAfter)
			until := from.Add(*stall)
			if !now.Before(from) && now.Before(until) {
				time.Sleep(until.Sub(now))
			}
		}
		if *delay > 0 {
			time.Sleep(*delay)
		}
		switch method {
		case "/routeguide.RouteGuide/GetFeature":
			return stream.SendMsg(&f)
		case "/routeguide.RouteGuide/ListFeatures":
			for i := 0; i < *list; i++ {
				if err := stream.SendMsg(&f); err != nil {
					return err
				}
			}
			return nil
		}
		return status.Errorf(codes.Unimplemented, "unknown method %s", method)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	s := grpc.NewServer(grpc.ForceServerCodec(raw{}), grpc.UnknownServiceHandler(handler))
	fmt.Printf("PORT %d\n", lis.Addr().(*net.TCPAddr).Port)
	if err := s.Serve(lis); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
