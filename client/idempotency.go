package client

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// NewIdempotencyKey returns a fresh 128-bit key, hex-encoded: the current
// time in milliseconds (48 bits) followed by 80 random bits, as in a UUIDv7.
// Set it on a mutation request to retry the request yourself, beyond the
// Client's own attempts, without applying it twice.
//
// Any unique key works. Keys that start with their time are cheaper for the
// cluster: it stores each write's key in an ordered index, where fresh keys
// that sort together are appended instead of inserted at random places.
func NewIdempotencyKey() string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(time.Now().UnixMilli())<<16)
	rand.Read(b[6:]) // never returns an error
	return hex.EncodeToString(b[:])
}

// withKey returns req and its idempotency key. When req has an empty
// idempotency_key field it returns a copy with a fresh key, leaving the
// caller's message untouched, and fresh is true: no other call can carry
// that key. Requests without the field come back as they are, with key "".
func withKey[M proto.Message](req M) (_ M, key string, fresh bool) {
	r := req.ProtoReflect()
	fd := r.Descriptor().Fields().ByName("idempotency_key")
	if fd == nil || fd.Kind() != protoreflect.StringKind {
		return req, "", false
	}
	if !r.IsValid() { // a nil request: send an empty one
		req = r.Type().New().Interface().(M)
	} else if key := r.Get(fd).String(); key != "" {
		return req, key, false
	} else {
		req = proto.Clone(req).(M)
	}
	key = NewIdempotencyKey()
	req.ProtoReflect().Set(fd, protoreflect.ValueOfString(key))
	return req, key, true
}

// orEmpty returns req, or an empty message of its type when req is nil.
func orEmpty[M proto.Message](req M) M {
	if r := req.ProtoReflect(); !r.IsValid() {
		return r.Type().New().Interface().(M)
	}
	return req
}
