package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestCORSOriginList(t *testing.T) {
	tests := []struct {
		values  []string
		want    []string
		wantErr string
	}{
		{nil, nil, ""},
		{[]string{""}, nil, ""},
		{[]string{"https://shop.example.com"}, []string{"https://shop.example.com"}, ""},
		{[]string{"https://shop.example.com", "http://localhost:3000"}, []string{"https://shop.example.com", "http://localhost:3000"}, ""},
		{[]string{"https://shop.example.com, http://localhost:3000,"}, []string{"https://shop.example.com", "http://localhost:3000"}, ""},
		{[]string{"*"}, nil, `"*"`},
		{[]string{"https://shop.example.com", "https://shop.example.com/"}, nil, `"https://shop.example.com/"`},
	}
	for _, tt := range tests {
		got, err := corsOriginList(tt.values)
		switch {
		case tt.wantErr == "" && (err != nil || !slices.Equal(got, tt.want)):
			t.Errorf("corsOriginList(%q) = %q, %v; want %q", tt.values, got, err, tt.want)
		case tt.wantErr != "" && (err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), "--cors-origin") || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("corsOriginList(%q): error %v, want a usage error naming --cors-origin and %s", tt.values, err, tt.wantErr)
		}
	}
}

// A bad origin stops `bookd server` with a usage error naming the flag and
// the origin, whether it came from the command line, the environment or
// the config file (before the node opens anything).
func TestServerRefusesBadCORSOrigin(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "bookd.conf")
	if err := os.WriteFile(conf, []byte("cors-origin = https://ok.example.com, https://bad.example.com/app\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := []string{"server", "--id", "n1", "--data-dir", filepath.Join(dir, "n1"), "--raft-addr", "127.0.0.1:0", "--rpc-addr", "127.0.0.1:0"}
	tests := []struct {
		name string
		args []string
		env  string
		want string
	}{
		{"flag", []string{"--cors-origin", "https://ok.example.com", "--cors-origin", "*"}, "", `"*"`},
		{"environment", nil, "https://Shop.example.com", `"https://Shop.example.com"`},
		{"config file", []string{"--config", conf}, "", `"https://bad.example.com/app"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.env != "" {
				t.Setenv("BOOKD_CORS_ORIGIN", tt.env)
			}
			out, code := run(t, append(slices.Clone(base), tt.args...)...)
			if code != 2 || !strings.Contains(out, "--cors-origin") || !strings.Contains(out, tt.want) {
				t.Errorf("exit %d: %s", code, out)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "n1")); !os.IsNotExist(err) {
		t.Errorf("the node opened its data directory: %v", err)
	}
}
