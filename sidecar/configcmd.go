package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
)

// secretMask stands for a secret that is set. Its length says nothing about
// the secret's.
const secretMask = "********"

func runConfig(_ context.Context, e *env, name string, args []string) error {
	fl := newFlagSet(e, name, "",
		"Prints every setting of '"+progName+" serve': its environment variable, current value,\n"+
			"default and description. Secrets are shown only as set or not; each can also be\n"+
			"read from a file named by the variable with _FILE appended. Then it checks the\n"+
			"settings as 'serve' does at start and lists every problem.")
	check := fl.Bool("check", false, "only check: print the problems (or that there are none); exit status 1 when there are any")
	if _, err := parseArgs(fl, args, 0); err != nil {
		return err
	}
	_, settings, err := loadConfig(e.getenv)
	if !*check {
		printSettings(e.stdout, settings)
		fmt.Fprintln(e.stdout)
	}
	var ce *configError
	switch {
	case err == nil:
		fmt.Fprintln(e.stdout, "The configuration is valid.")
		return nil
	case errors.As(err, &ce):
		fmt.Fprintf(e.stdout, "%v\n", err)
		if !*check {
			return nil
		}
		return &exitError{code: exitFailure, err: err, reported: true}
	default:
		return fmt.Errorf("%s: %w", name, err)
	}
}

// printSettings writes one block per variable:
//
//	TRUSTLY_SIDECAR_PUBLIC_ADDR = :8080 (default)
//	    HOST:PORT of the public listener: ...
func printSettings(w io.Writer, settings []setting) {
	for i, s := range settings {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "%s = %s\n    %s\n", s.key, shownValue(s), s.desc())
	}
}

// shownValue is what the config command prints as a setting's value: never a
// secret's content.
func shownValue(s setting) string {
	switch {
	case s.secret() && s.byFile:
		return secretMask + " (set from " + s.fileKey() + ")"
	case s.secret() && s.isSet:
		return secretMask + " (set)"
	case s.secret():
		return "(not set)"
	case s.isSet && s.def() != "" && s.raw != s.def():
		return s.raw + " (set; default " + s.def() + ")"
	case s.isSet:
		return s.raw + " (set)"
	case s.def() != "":
		return s.def() + " (default)"
	}
	return "(not set)"
}

// configTable renders the variables as the Markdown table in README.md.
func configTable(vars []variable) string {
	var b strings.Builder
	b.WriteString("| variable | default | description |\n|---|---|---|\n")
	for _, v := range vars {
		def := "—"
		if v.def() != "" {
			def = "`" + v.def() + "`"
		}
		desc := v.desc()
		if v.secret() {
			desc += "; secret: also from `" + v.fileKey() + "`, never printed"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", v.key, def, strings.ReplaceAll(desc, "|", "\\|"))
	}
	return b.String()
}
