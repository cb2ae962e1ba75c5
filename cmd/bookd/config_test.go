package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// One precedence order: command line, then BOOKD_<FLAG>, then the config
// file, then the default.
func TestSettingsPrecedence(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bookd.conf")
	conf := "# settings\nfrom-file = file\nfrom-env: file\n--from-flag = file\n"
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("BOOKD_FROM_ENV", "env")
	t.Setenv("BOOKD_FROM_FLAG", "env")
	got := map[string]*string{}
	cmd := &cobra.Command{Use: "x", RunE: func(*cobra.Command, []string) error { return nil }}
	for _, name := range []string{"from-file", "from-env", "from-flag", "default"} {
		got[name] = cmd.Flags().String(name, "default", "")
	}
	registerConfigFlag(cmd.Flags())
	cmd.SetArgs([]string{"--from-flag", "flag", "--config", path})
	cmd.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		if err := flagsFromEnv(cmd); err != nil {
			return err
		}
		return flagsFromConfig(cmd)
	}
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"from-file": "file", "from-env": "env", "from-flag": "flag", "default": "default"} {
		if *got[name] != want {
			t.Errorf("%s = %q, want %q", name, *got[name], want)
		}
	}
}

func TestConfigFileErrorsNameTheLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bookd.conf")
	if err := os.WriteFile(path, []byte("timeout = 2s\nno-such-setting = 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, code := run(t, "cluster", "status", "--config", path)
	if code != 2 || !strings.Contains(out, "line 2") || !strings.Contains(out, "no-such-setting") {
		t.Fatalf("exit %d: %s", code, out)
	}
}
