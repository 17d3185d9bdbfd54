package webhook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"

	"github.com/batonhq/baton/internal/model"
)

// MinSecretBytes is the shortest secret accepted: a shorter one is
// guessable.
const MinSecretBytes = 16

// secretsFile is the webhook secrets file (serve --webhook-secrets). It
// names secrets and the environment variables holding them; it never
// holds a secret itself.
type secretsFile struct {
	Secrets []secretEntry `json:"secrets"`
}

type secretEntry struct {
	Name string `json:"name"`
	Env  string `json:"env"`
	// Value is refused: it is here to say so clearly.
	Value *string `json:"value,omitempty"`
}

// ReadSecrets reads the secrets file path ("" for none) and returns each
// secret's value by name, read from the environment through lookup
// (os.LookupEnv when nil). An unset or short variable is an error naming
// the entry.
func ReadSecrets(path string, lookup func(string) (string, bool)) (map[string][]byte, error) {
	if path == "" {
		return nil, nil
	}
	if lookup == nil {
		lookup = os.LookupEnv
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f secretsFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	out := map[string][]byte{}
	for i, e := range f.Secrets {
		at := fmt.Sprintf("%s: secrets[%d] (%q)", path, i, e.Name)
		switch {
		case !model.ValidSecretName(e.Name):
			return nil, fmt.Errorf("%s: name: not a secret name (letters, digits, '_', '.', '-'; at most 64)", at)
		case out[e.Name] != nil:
			return nil, fmt.Errorf("%s: name: %q is configured twice", at, e.Name)
		case e.Value != nil:
			return nil, fmt.Errorf("%s: value: the file never holds a secret; put it in an environment variable and name it in \"env\"", at)
		case e.Env == "":
			return nil, fmt.Errorf("%s: env: no environment variable named", at)
		}
		v, ok := lookup(e.Env)
		switch {
		case !ok:
			return nil, fmt.Errorf("%s: env: environment variable %s is not set", at, e.Env)
		case len(v) < MinSecretBytes:
			return nil, fmt.Errorf("%s: env: the secret in %s has %d bytes; at least %d are needed", at, e.Env, len(v), MinSecretBytes)
		}
		out[e.Name] = []byte(v)
	}
	return out, nil
}
