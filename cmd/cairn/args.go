package main

import (
	"slices"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"
)

// intersperse lets flags follow a command's arguments, as users of most
// command lines expect (`cairn balance bob --json`, `cairn block 5 --txs`,
// `cairn send … --password-file F`): urfave/cli v2 stops reading flags at
// the first argument. It moves every token after the command that names a
// flag of that command (with its value, if it takes one) to just after the
// command name, and every token that names a global flag to before the
// command. An unknown flag goes with the command's, for cli to refuse by
// name; tokens after "--" and negative numbers stay arguments.
func intersperse(app *cli.App, args []string) []string {
	if len(args) < 2 {
		return args
	}
	out := []string{args[0]}
	i := 1
	// Global flags before the command stay as they are.
	for i < len(args) && isFlag(args[i]) && args[i] != "--" {
		i += max(flagWidth(app.Flags, args, i), 1) // an unknown flag stays for cli to refuse
	}
	out = append(out, args[1:min(i, len(args))]...)
	if i >= len(args) {
		return out
	}
	// The command path: names of commands and subcommands.
	cmds := app.Commands
	var leaf *cli.Command
	path := []string{}
	for i < len(args) {
		c := findCommand(cmds, args[i])
		if c == nil {
			break
		}
		path = append(path, args[i])
		leaf = c
		i++
		if len(c.Subcommands) == 0 {
			break
		}
		cmds = c.Subcommands
	}
	// A command with subcommands takes flags only if it acts itself when
	// its argument names no subcommand (`cairn tx ID --json`).
	if leaf == nil || len(leaf.Subcommands) > 0 && len(leaf.Flags) == 0 {
		return append(append(out, path...), args[i:]...)
	}
	var globals, local, rest []string
	for i < len(args) {
		a := args[i]
		if a == "--" {
			rest = append(rest, args[i:]...)
			break
		}
		if n := flagWidth(leaf.Flags, args, i); n > 0 {
			local = append(local, args[i:min(i+n, len(args))]...)
			i += n
			continue
		}
		if n := flagWidth(app.Flags, args, i); n > 0 {
			globals = append(globals, args[i:min(i+n, len(args))]...)
			i += n
			continue
		}
		if isFlag(a) && !isNumber(a) { // unknown: cli names it in its error
			local = append(local, a)
			i++
			continue
		}
		rest = append(rest, a)
		i++
	}
	out = append(out, globals...)
	out = append(out, path...)
	out = append(out, local...)
	// A negative number among the arguments would be read as a flag: end
	// the flags before them so that the command refuses it by its meaning.
	if len(rest) > 0 && rest[0] != "--" && slices.ContainsFunc(rest, func(a string) bool { return isFlag(a) && isNumber(a) }) {
		out = append(out, "--")
	}
	return append(out, rest...)
}

func isFlag(a string) bool { return strings.HasPrefix(a, "-") && len(a) > 1 }

// isNumber tells a negative number ("-1"), which is an argument, from a
// flag.
func isNumber(a string) bool {
	_, err := strconv.ParseFloat(a, 64)
	return err == nil
}

// flagName is the name in "-x", "--name" or "--name=value".
func flagName(a string) string {
	name := strings.TrimLeft(a, "-")
	name, _, _ = strings.Cut(name, "=")
	return name
}

func lookupFlag(flags []cli.Flag, name string) cli.Flag {
	for _, f := range flags {
		if slices.Contains(f.Names(), name) {
			return f
		}
	}
	return nil
}

// flagWidth is how many tokens from args[i] the flag there takes: 1 for a
// bool flag, help or "--name=value", 2 for "--name value", and 0 if
// args[i] is not one of flags.
func flagWidth(flags []cli.Flag, args []string, i int) int {
	a := args[i]
	if !isFlag(a) {
		return 0
	}
	name := flagName(a)
	if name == "h" || name == "help" {
		return 1
	}
	f := lookupFlag(flags, name)
	switch {
	case f == nil:
		return 0
	case strings.Contains(a, "="):
		return 1
	}
	if _, isBool := f.(*cli.BoolFlag); isBool {
		return 1
	}
	return 2
}

func findCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if c.Name == name || slices.Contains(c.Aliases, name) {
			return c
		}
	}
	return nil
}
