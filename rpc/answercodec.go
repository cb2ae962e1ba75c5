package rpc

import (
	"fmt"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"google.golang.org/protobuf/proto"
)

// answerCodec is the binary Protobuf codec of the node's handlers. A
// cached answer (answers.go) is sent as the bytes encoded when it was
// cached, copied into connect's buffer (which connect reuses, so the cached
// bytes are never handed to it); everything else is encoded as usual.
type answerCodec struct {
	availability *answerCache[*bookdv1.GetAvailabilityResponse]
	events       *answerCache[*bookdv1.GetEventResponse]
}

func (answerCodec) Name() string { return "proto" }

func (c answerCodec) Marshal(m any) ([]byte, error) { return c.MarshalAppend(nil, m) }

// MarshalAppend appends m's encoding to dst.
func (c answerCodec) MarshalAppend(dst []byte, m any) ([]byte, error) {
	var wire []byte
	var ok bool
	switch msg := m.(type) {
	case *bookdv1.GetAvailabilityResponse:
		wire, ok = c.availability.encoding(msg)
	case *bookdv1.GetEventResponse:
		wire, ok = c.events.encoding(msg)
	}
	if ok {
		return append(dst, wire...), nil
	}
	pm, isProto := m.(proto.Message)
	if !isProto {
		return nil, fmt.Errorf("rpc: %T is not a protobuf message", m)
	}
	return proto.MarshalOptions{}.MarshalAppend(dst, pm)
}

func (answerCodec) Unmarshal(data []byte, m any) error {
	pm, ok := m.(proto.Message)
	if !ok {
		return fmt.Errorf("rpc: %T is not a protobuf message", m)
	}
	return proto.Unmarshal(data, pm)
}
