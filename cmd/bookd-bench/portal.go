package main

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"time"
)

// portal plays the web portal in front of the edge: it signs a customer
// token (an HS256 JWT naming the customer) for each of its customers'
// calls, with a key it shares with the edge.
type portal struct {
	key, sessionKey []byte
}

func newPortal() *portal {
	p := &portal{key: make([]byte, 32), sessionKey: make([]byte, 32)}
	rand.Read(p.key)
	rand.Read(p.sessionKey)
	return p
}

// token signs a customer token for customer, valid until exp.
func (p *portal) token(customer string, exp time.Time) string {
	enc := base64.RawURLEncoding
	claims, _ := json.Marshal(struct {
		Sub string `json:"sub"`
		Exp int64  `json:"exp"`
	}{customer, exp.Unix()})
	signed := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + enc.EncodeToString(claims)
	mac := hmac.New(sha256.New, p.key)
	mac.Write([]byte(signed))
	return signed + "." + enc.EncodeToString(mac.Sum(nil))
}
