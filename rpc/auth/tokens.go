package auth

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
)

// Principal is an authenticated caller.
type Principal struct {
	Name string // the token's name, or "node:" and a node certificate's common name
	Role Role
}

// MinTokenLen is the shortest token a tokens file may hold.
const MinTokenLen = 16

// Tokens is a tokens file, read again when it changes. Each line holds
// "NAME ROLE TOKEN"; blank lines and lines starting with # are skipped.
type Tokens struct {
	path string

	mu      sync.Mutex
	byHash  map[[32]byte]Principal
	admin   string // the first admin token: a node's own calls carry it
	modTime time.Time
	size    int64
	checked time.Time
}

// LoadTokens reads a tokens file; it fails on a malformed line, naming it.
func LoadTokens(path string) (*Tokens, error) {
	t := &Tokens{path: path}
	if err := t.reload(); err != nil {
		return nil, err
	}
	return t, nil
}

// ParseTokens reads a tokens file's content.
func ParseTokens(data []byte) (map[[32]byte]Principal, string, error) {
	byHash := map[[32]byte]Principal{}
	admin := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		f := strings.Fields(text)
		if len(f) != 3 {
			return nil, "", fmt.Errorf("line %d: want NAME ROLE TOKEN, got %d fields", line, len(f))
		}
		role, err := ParseRole(f[1])
		if err != nil {
			return nil, "", fmt.Errorf("line %d: %w", line, err)
		}
		if len(f[2]) < MinTokenLen {
			return nil, "", fmt.Errorf("line %d: token of %s is shorter than %d characters", line, f[0], MinTokenLen)
		}
		h := sha256.Sum256([]byte(f[2]))
		if _, dup := byHash[h]; dup {
			return nil, "", fmt.Errorf("line %d: token of %s is used twice", line, f[0])
		}
		byHash[h] = Principal{Name: f[0], Role: role}
		if role == RoleAdmin && admin == "" {
			admin = f[2]
		}
	}
	if err := sc.Err(); err != nil {
		return nil, "", err
	}
	if len(byHash) == 0 {
		return nil, "", fmt.Errorf("no tokens")
	}
	return byHash, admin, nil
}

func (t *Tokens) reload() error {
	fi, err := os.Stat(t.path)
	if err != nil {
		return fmt.Errorf("auth: tokens file: %w", err)
	}
	if fi.ModTime().Equal(t.modTime) && fi.Size() == t.size && t.byHash != nil {
		return nil
	}
	data, err := os.ReadFile(t.path)
	if err != nil {
		return fmt.Errorf("auth: tokens file: %w", err)
	}
	byHash, admin, err := ParseTokens(data)
	if err != nil {
		return fmt.Errorf("auth: tokens file %s: %w", t.path, err)
	}
	t.byHash, t.admin, t.modTime, t.size = byHash, admin, fi.ModTime(), fi.Size()
	return nil
}

// reloadEvery bounds how often the file is looked at.
const reloadEvery = time.Second

// Lookup returns the principal a token belongs to. A changed file is read
// again (at most once a second); a file that turned bad keeps the old tokens.
func (t *Tokens) Lookup(token string) (Principal, bool) {
	h := sha256.Sum256([]byte(token))
	t.mu.Lock()
	defer t.mu.Unlock()
	if now := time.Now(); now.Sub(t.checked) >= reloadEvery {
		t.checked = now
		_ = t.reload() // keep serving the last good tokens
	}
	for k, p := range t.byHash {
		if subtle.ConstantTimeCompare(k[:], h[:]) == 1 {
			return p, true
		}
	}
	return Principal{}, false
}

// AdminToken is the first admin token: what a node sends on its own calls
// to other nodes ("" if the file has none).
func (t *Tokens) AdminToken() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.admin
}
