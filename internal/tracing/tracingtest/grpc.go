package tracingtest

import (
	"context"
	"net"
	"testing"

	collpb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
)

// NewGRPC starts a collector that receives spans over OTLP/gRPC (the
// collector's TraceService, without TLS) on 127.0.0.1 and stops with the
// test. Its URL is http://host:port, what OTEL_EXPORTER_OTLP_ENDPOINT
// takes for an insecure gRPC endpoint.
func NewGRPC(t testing.TB) *Collector {
	c := &Collector{}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	collpb.RegisterTraceServiceServer(srv, traceService{c: c})
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(srv.Stop)
	c.URL = "http://" + l.Addr().String()
	return c
}

type traceService struct {
	collpb.UnimplementedTraceServiceServer
	c *Collector
}

func (s traceService) Export(_ context.Context, req *collpb.ExportTraceServiceRequest) (*collpb.ExportTraceServiceResponse, error) {
	s.c.receive(req)
	return &collpb.ExportTraceServiceResponse{}, nil
}
