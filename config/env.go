package config

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// EnvPrefix starts every environment variable the configuration reads.
const EnvPrefix = "CERTSTREAM_"

// EnvName is the environment variable that overrides a key such as
// "delta_sink.enabled" (CERTSTREAM_DELTA_SINK_ENABLED).
func EnvName(key string) string {
	return EnvPrefix + strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(key))
}

// envField is one key that an environment variable can override.
type envField struct {
	key   string
	field reflect.Value
}

// envFields lists every overridable key of the struct rv by variable name:
// scalars and lists of scalars. Arrays of tables (custom logs) are file-only.
func envFields(rv reflect.Value) map[string]envField {
	out := map[string]envField{}
	var walk func(path string, rv reflect.Value)
	walk = func(path string, rv reflect.Value) {
		for i := range rv.NumField() {
			name := tomlName(rv.Type().Field(i))
			if name == "" {
				continue
			}
			key, fv := join(path, name), rv.Field(i)
			switch {
			case fv.Kind() == reflect.Struct:
				walk(key, fv)
			case fv.Kind() == reflect.Slice && fv.Type().Elem().Kind() == reflect.Struct:
			default:
				out[EnvName(key)] = envField{key: key, field: fv}
			}
		}
	}
	walk("", rv)
	return out
}

// lookupEnv returns the value of name in environ ("NAME=value" entries).
func lookupEnv(environ []string, name string) (string, bool) {
	for _, kv := range environ {
		if n, v, ok := strings.Cut(kv, "="); ok && n == name {
			return v, true
		}
	}
	return "", false
}

// applyEnv applies every CERTSTREAM_* override in environ to cfg. An unknown
// variable or a value that does not parse is a problem naming the variable.
func applyEnv(environ []string, cfg *Config, src sources, ps *Problems) {
	fields := envFields(reflect.ValueOf(cfg).Elem())
	for _, kv := range environ {
		name, val, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, EnvPrefix) || name == EnvConfigFile {
			continue
		}
		from := "env " + name
		f, ok := fields[name]
		if !ok {
			ps.add(Problem{File: from, Msg: "unknown configuration variable"})
			continue
		}
		x, err := parseEnv(val, f.field.Type())
		if err != nil {
			ps.add(Problem{File: from, Key: f.key, Msg: err.Error()})
			continue
		}
		f.field.Set(x)
		src.override(f.key, source{file: from})
	}
}

// parseEnv converts an environment value to t; lists are comma-separated.
func parseEnv(s string, t reflect.Type) (reflect.Value, error) {
	switch t.Kind() {
	case reflect.Bool:
		b, err := strconv.ParseBool(strings.TrimSpace(s))
		if err != nil {
			return reflect.Value{}, fmt.Errorf("expected a boolean (true or false), got %q", s)
		}
		return reflect.ValueOf(b).Convert(t), nil
	case reflect.Int:
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return reflect.Value{}, fmt.Errorf("expected an integer, got %q", s)
		}
		return reflect.ValueOf(n).Convert(t), nil
	case reflect.Float64:
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return reflect.Value{}, fmt.Errorf("expected a number, got %q", s)
		}
		return reflect.ValueOf(f).Convert(t), nil
	case reflect.String:
		return reflect.ValueOf(s).Convert(t), nil
	case reflect.Slice:
		out := reflect.MakeSlice(t, 0, 0)
		if strings.TrimSpace(s) == "" {
			return out, nil
		}
		for i, item := range strings.Split(s, ",") {
			x, err := parseEnv(strings.TrimSpace(item), t.Elem())
			if err != nil {
				return reflect.Value{}, fmt.Errorf("item %d: %w", i, err)
			}
			out = reflect.Append(out, x)
		}
		return out, nil
	}
	return reflect.Value{}, fmt.Errorf("cannot be set from the environment")
}
