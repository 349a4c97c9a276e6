package adapter

import (
	"bytes"
	"fmt"
	"os"
)

// SecretFromEnv reads a secret setting of an adapter from the variable name
// or from the file named by name_FILE (a mounted Kubernetes secret), never
// both. A file's one trailing newline, which editors and `echo` add, is not
// part of the secret.
func SecretFromEnv(getenv func(string) string, name string) ([]byte, error) {
	value, path := getenv(name), getenv(name+"_FILE")
	switch {
	case path == "":
		return []byte(value), nil
	case value != "":
		return nil, fmt.Errorf("%s and %s_FILE are both set: use one", name, name)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s_FILE: %w", name, err)
	}
	return bytes.TrimSuffix(bytes.TrimSuffix(b, []byte("\n")), []byte("\r")), nil
}
