package rpc

import (
	"net/http"

	"connectrpc.com/grpchealth"
	"connectrpc.com/grpcreflect"

	// The descriptors of gRPC's health and reflection services, so that
	// reflection lists and describes them as it does bookd's (connect's
	// handlers carry theirs under other names).
	_ "google.golang.org/grpc/health/grpc_health_v1"
	_ "google.golang.org/grpc/reflection/grpc_reflection_v1"
	_ "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
)

// serveDiscovery adds to mux gRPC health, which answers for each of
// services and for the server as a whole (""), and gRPC reflection (v1 and
// v1alpha), which lists services, health and reflection itself: what
// `grpcurl list` shows.
func serveDiscovery(mux *http.ServeMux, services ...string) {
	mux.Handle(grpchealth.NewHandler(grpchealth.NewStaticChecker(services...)))
	listed := append(services[:len(services):len(services)],
		grpchealth.HealthV1ServiceName, grpcreflect.ReflectV1ServiceName, grpcreflect.ReflectV1AlphaServiceName)
	reflector := grpcreflect.NewStaticReflector(listed...)
	mux.Handle(grpcreflect.NewHandlerV1(reflector))
	mux.Handle(grpcreflect.NewHandlerV1Alpha(reflector))
}
