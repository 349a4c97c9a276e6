package config

import (
	"fmt"
	"io"
	"strings"
)

// secretMask stands for a secret that is set. Its length says nothing about
// the secret's.
const secretMask = "********"

// Print writes one block per variable:
//
//	TRUSTLY_SIDECAR_PUBLIC_ADDR = :8080 (default)
//	    HOST:PORT of the public listener: ...
func Print(w io.Writer, settings []Setting) {
	for i, s := range settings {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "%s = %s\n    %s\n", s.Key, shownValue(s), s.Desc())
	}
}

// shownValue is what the config command prints as a setting's value: never a
// secret's content.
func shownValue(s Setting) string {
	switch {
	case s.Secret() && s.ByFile:
		return secretMask + " (set from " + s.FileKey() + ")"
	case s.Secret() && s.IsSet:
		return secretMask + " (set)"
	case s.Secret():
		return "(not set)"
	case s.IsSet && s.Default() != "" && s.Raw != s.Default():
		return s.Raw + " (set; default " + s.Default() + ")"
	case s.IsSet:
		return s.Raw + " (set)"
	case s.Default() != "":
		return s.Default() + " (default)"
	}
	return "(not set)"
}

// Table renders the variables as the Markdown table in README.md.
func Table(vars []Variable) string {
	var b strings.Builder
	b.WriteString("| variable | default | description |\n|---|---|---|\n")
	for _, v := range vars {
		def := "—"
		if v.Default() != "" {
			def = "`" + v.Default() + "`"
		}
		desc := v.Desc()
		if v.Secret() {
			desc += "; secret: also from `" + v.FileKey() + "`, never printed"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", v.Key, def, strings.ReplaceAll(desc, "|", "\\|"))
	}
	return b.String()
}
