package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// usageError is a mistake on the command line (exit code 2).
type usageError struct{ error }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// strictUsage makes every mistake cobra finds on the command line under
// root a usageError: a flag it does not know or a value it cannot parse, a
// wrong number of arguments, an unknown command or subcommand. (Left alone,
// cobra returns them as plain errors, exit code 1, and answers an unknown
// subcommand of a group like `bookd bookings` with the group's help and
// exit code 0.) Required flags are checked by checkRequired.
func strictUsage(root *cobra.Command) {
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		switch check := c.Args; {
		case !c.Runnable() && c.HasSubCommands():
			c.Args = func(cmd *cobra.Command, args []string) error { return unknownSubcommand(cmd, args) }
			c.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
		case check != nil:
			c.Args = func(cmd *cobra.Command, args []string) error {
				if err := check(cmd, args); err != nil {
					name := strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" ")
					return usagef("%s: %v (usage: %s)", name, err, cmd.UseLine())
				}
				return nil
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// unknownSubcommand refuses any argument to a group of commands.
func unknownSubcommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += fmt.Sprintf(" (did you mean %s?)", strings.Join(s, " or "))
	}
	return usageError{errors.New(msg)}
}

// checkRequired reports a required flag left out, or flags that go
// together given apart, as a usageError (cobra checks them again, too
// late to be told apart from other errors).
func checkRequired(cmd *cobra.Command) error {
	if err := cmd.ValidateRequiredFlags(); err != nil {
		return usageError{err}
	}
	if err := cmd.ValidateFlagGroups(); err != nil {
		return usageError{err}
	}
	return nil
}
