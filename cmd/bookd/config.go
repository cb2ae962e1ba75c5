package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Every setting comes, in this order of precedence, from the command line,
// from BOOKD_<FLAG> in the environment, from the file --config names (or
// BOOKD_CONFIG), or from its default. The file holds one setting a line,
// "flag-name = value" or "flag-name: value", with # comments; a setting
// the command does not have is an error naming its line.

// configFlag names the configuration file.
const configFlag = "config"

// flagsFromConfig sets the flags still unset (neither on the command line
// nor in the environment) from the configuration file, if one is named.
func flagsFromConfig(cmd *cobra.Command) error {
	path, _ := cmd.Flags().GetString(configFlag)
	if path == "" {
		return nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return usagef("--config: %v", err)
	}
	settings, err := parseConfig(data)
	if err != nil {
		return usagef("--config %s: %v", path, err)
	}
	for _, s := range settings {
		f := cmd.Flags().Lookup(s.name)
		if f == nil {
			return usagef("--config %s: line %d: `%s` has no setting %q", path, s.line, cmd.CommandPath(), s.name)
		}
		if f.Changed {
			continue
		}
		if err := cmd.Flags().Set(s.name, s.value); err != nil {
			return usagef("--config %s: line %d: %s: %v", path, s.line, s.name, err)
		}
	}
	return nil
}

type setting struct {
	line        int
	name, value string
}

func parseConfig(data []byte) ([]setting, error) {
	var out []setting
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.IndexAny(line, "=:")
		if i <= 0 {
			return nil, fmt.Errorf("line %d: want name = value", n)
		}
		name := strings.TrimPrefix(strings.TrimSpace(line[:i]), "--")
		value := strings.Trim(strings.TrimSpace(line[i+1:]), `"`)
		out = append(out, setting{line: n, name: name, value: value})
	}
	return out, sc.Err()
}

// registerConfigFlag adds --config to every command.
func registerConfigFlag(f *pflag.FlagSet) {
	f.String(configFlag, "", "`FILE` of settings, one \"flag-name = value\" a line; precedence: flags, then BOOKD_<FLAG>, then this file, then defaults")
}
