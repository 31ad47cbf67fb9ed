package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// EnvConfigFile names the environment variable that points at the config file.
const EnvConfigFile = "CERTSTREAM_CONFIG"

// DefaultFile is the config file looked for in the working directory.
const DefaultFile = "certstream.toml"

// MaxFileSize is the largest config file read: 1 MiB, far more than any
// real configuration, so that a mistaken path (a log, a device) is refused
// instead of read into memory.
const MaxFileSize = 1 << 20

// maxDepth is the deepest nesting of tables, arrays and dotted keys a
// config file may have; the configuration itself is three levels deep.
const maxDepth = 16

// findFile picks the config file: flagPath when set, else envPath (the
// value of $CERTSTREAM_CONFIG), else ./certstream.toml when it exists. It
// returns "" (and no error) when none applies, meaning defaults; a file named
// explicitly that does not exist is an error.
func findFile(flagPath, envPath string) (string, error) {
	for _, c := range []struct{ path, from string }{{flagPath, "--config"}, {envPath, "$" + EnvConfigFile}} {
		if c.path == "" {
			continue
		}
		if err := isFile(c.path); err != nil {
			return "", fmt.Errorf("config file %q (from %s): %w", c.path, c.from, err)
		}
		return c.path, nil
	}
	switch err := isFile(DefaultFile); {
	case err == nil:
		return DefaultFile, nil
	case errors.Is(err, fs.ErrNotExist):
		return "", nil
	default:
		return "", fmt.Errorf("config file %q: %w", DefaultFile, err)
	}
}

func isFile(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if st.IsDir() {
		return errors.New("is a directory")
	}
	return nil
}

// LoadNamed finds the config file like findFile (reading CERTSTREAM_CONFIG
// from environ) and loads it with [Load]. It returns the file used ("" for
// defaults only). Any error is a *[Problems].
func LoadNamed(flagPath string, environ []string) (*Config, string, error) {
	envPath, _ := lookupEnv(environ, EnvConfigFile)
	path, err := findFile(flagPath, envPath)
	if err != nil {
		return nil, "", &Problems{List: []Problem{{File: path, Msg: err.Error()}}}
	}
	cfg, err := Load(path, environ)
	return cfg, path, err
}

// Load builds the configuration: defaults, then the TOML file at path (none
// when path is ""), then CERTSTREAM_<SECTION>_<FIELD> overrides from environ
// (entries "NAME=value", as os.Environ returns), then validation. The error,
// if any, is a *[Problems] holding every problem found.
func Load(path string, environ []string) (*Config, error) {
	if path == "" {
		return load("", nil, environ)
	}
	data, err := ReadFile(path)
	if err != nil {
		return nil, &Problems{List: []Problem{{File: path, Msg: err.Error()}}}
	}
	return load(path, data, environ)
}

// Parse is [Load] of a file already read: data is the content of the file
// named path (which is not read again). The hot reload uses it to load
// exactly the version whose hash it compared.
func Parse(path string, data []byte, environ []string) (*Config, error) {
	return load(path, data, environ)
}

func load(path string, data []byte, environ []string) (*Config, error) {
	cfg := Default()
	ps := &Problems{}
	src := sources{}
	if path != "" {
		decodeFile(path, data, &cfg, src, ps)
	}
	applyEnv(environ, &cfg, src, ps)
	validate(&cfg, src, ps)
	if err := ps.errOrNil(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// ReadFile reads a config file, refusing one larger than [MaxFileSize]
// after reading at most one byte more (a device such as /dev/zero too).
func ReadFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("larger than %d MiB: not a config file", MaxFileSize>>20)
	}
	return data, nil
}

// source says where a key's value came from.
type source struct {
	file string // path, "env NAME", or "" for a default
	line int
}

// sources maps key paths to where they were set.
type sources map[string]source

// problem builds a Problem for key located at the nearest ancestor with a
// known source.
func (s sources) problem(key, format string, args ...any) Problem {
	for k := key; k != ""; k = parent(k) {
		if src, ok := s[k]; ok {
			return Problem{File: src.file, Line: src.line, Key: key, Msg: fmt.Sprintf(format, args...)}
		}
	}
	return Problem{Key: key, Msg: fmt.Sprintf(format, args...)}
}

// override records the source of key, set again, forgetting what was
// recorded below it (a list from the file replaced by the environment's).
func (s sources) override(key string, src source) {
	for k := range s {
		if strings.HasPrefix(k, key+".") || strings.HasPrefix(k, key+"[") {
			delete(s, k)
		}
	}
	s[key] = src
}

// decodeFile decodes data, read from path, into cfg, recording sources and
// problems.
func decodeFile(path string, data []byte, cfg *Config, src sources, ps *Problems) {
	text := string(data)
	if at := tooDeep(text, maxDepth); at >= 0 {
		s := &lineScanner{doc: text, i: at}
		for s.peek() == '[' {
			s.i++
		}
		segs, _ := s.key()
		p := Problem{File: path, Line: strings.Count(text[:at], "\n") + 1,
			Msg: fmt.Sprintf("nested deeper than %d levels (tables, arrays and dotted keys)", maxDepth)}
		if len(segs) > 0 {
			p.Key = segs[0]
		}
		ps.add(p)
		return
	}
	var doc map[string]any
	if _, err := toml.Decode(text, &doc); err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			ps.add(Problem{File: path, Line: pe.Position.Line, Col: pe.Position.Col, Key: pe.LastKey,
				Msg: "TOML syntax error: " + pe.Message})
		} else {
			ps.add(Problem{File: path, Msg: "TOML syntax error: " + err.Error()})
		}
		return
	}
	d := fileDecoder{file: path, src: src, ps: ps}
	d.table("", doc, reflect.ValueOf(cfg).Elem(), keyLines(text), 0)
}

// fileDecoder assigns a generic TOML document onto a struct, field by field,
// so that every unknown key and every type mismatch is reported, not just the first.
type fileDecoder struct {
	file string
	src  sources
	ps   *Problems
}

func (d *fileDecoder) fail(key string, line int, format string, args ...any) {
	d.ps.add(Problem{File: d.file, Line: line, Key: key, Msg: fmt.Sprintf(format, args...)})
}

// table assigns the keys of m onto the struct rv. at holds where the keys
// of m are defined, line where m is (for keys the scanner did not record).
func (d *fileDecoder) table(path string, m map[string]any, rv reflect.Value, at *keyNode, line int) {
	fields := fieldsByKey(rv.Type())
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		key, kn := join(path, k), at.key(k)
		kl := kn.lineOr(line)
		i, ok := fields[k]
		if !ok {
			if near := nearest(k, fields); near != "" {
				d.fail(key, kl, "unknown key (did you mean %q?)", near)
			} else {
				d.fail(key, kl, "unknown key")
			}
			continue
		}
		d.value(key, m[k], rv.Field(i), kn, kl)
	}
}

// value assigns one TOML value, defined at line (its node at), onto rv,
// reporting a type mismatch.
func (d *fileDecoder) value(key string, v any, rv reflect.Value, at *keyNode, line int) {
	d.src[key] = source{file: d.file, line: line}
	switch rv.Kind() {
	case reflect.Struct:
		if m, ok := v.(map[string]any); ok {
			d.table(key, m, rv, at, line)
			return
		}
	case reflect.Slice:
		if items, ok := asList(v); ok {
			out := reflect.MakeSlice(rv.Type(), len(items), len(items))
			for i, item := range items {
				en := at.elem(i)
				d.value(index(key, i), item, out.Index(i), en, en.lineOr(line))
			}
			rv.Set(out)
			return
		}
	default:
		if x, err := convertScalar(v, rv.Type()); err == nil {
			rv.Set(x)
			return
		} else if !errors.Is(err, errType) {
			d.fail(key, line, "%v", err)
			return
		}
	}
	d.fail(key, line, "expected %s, got %s", kindName(rv.Type()), describe(v))
}

// asList accepts both TOML arrays and arrays of tables.
func asList(v any) ([]any, bool) {
	switch l := v.(type) {
	case []any:
		return l, true
	case []map[string]any:
		out := make([]any, len(l))
		for i, m := range l {
			out[i] = m
		}
		return out, true
	}
	return nil, false
}

var errType = errors.New("wrong type")

// convertScalar converts a decoded TOML scalar to t (bool, int, float64, string).
func convertScalar(v any, t reflect.Type) (reflect.Value, error) {
	switch t.Kind() {
	case reflect.Bool:
		if b, ok := v.(bool); ok {
			return reflect.ValueOf(b).Convert(t), nil
		}
	case reflect.Int:
		if n, ok := v.(int64); ok {
			if n < math.MinInt || n > math.MaxInt {
				return reflect.Value{}, fmt.Errorf("integer %d out of range", n)
			}
			return reflect.ValueOf(int(n)).Convert(t), nil
		}
	case reflect.Float64:
		switch n := v.(type) {
		case float64:
			return reflect.ValueOf(n).Convert(t), nil
		case int64:
			return reflect.ValueOf(float64(n)).Convert(t), nil
		}
	case reflect.String:
		if s, ok := v.(string); ok {
			return reflect.ValueOf(s).Convert(t), nil
		}
	}
	return reflect.Value{}, errType
}

// kindName names the TOML type a Go field expects.
func kindName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Bool:
		return "a boolean"
	case reflect.Int:
		return "an integer"
	case reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Struct:
		return "a table"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Struct {
			return "an array of tables"
		}
		return "an array of " + strings.TrimPrefix(strings.TrimPrefix(kindName(t.Elem()), "an "), "a ") + "s"
	}
	return t.String()
}

// describe names a decoded TOML value's type, with the value when short.
func describe(v any) string {
	switch x := v.(type) {
	case bool:
		return fmt.Sprintf("boolean %v", x)
	case int64:
		return fmt.Sprintf("integer %d", x)
	case float64:
		return fmt.Sprintf("float %v", x)
	case string:
		if len(x) > 40 {
			x = x[:40] + "..."
		}
		return fmt.Sprintf("string %q", x)
	case map[string]any:
		return "a table"
	case []any, []map[string]any:
		return "an array"
	case time.Time:
		return "a datetime"
	}
	return fmt.Sprintf("%T", v)
}

// fieldsByKey maps toml key names to field indexes of struct type t.
func fieldsByKey(t reflect.Type) map[string]int {
	out := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		if name := tomlName(t.Field(i)); name != "" {
			out[name] = i
		}
	}
	return out
}

// tomlName is the key of a struct field ("" for unexported or "-").
func tomlName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
	switch name {
	case "-":
		return ""
	case "":
		return f.Name
	}
	return name
}

// nearest returns the known key within edit distance 2 of k, if any.
func nearest(k string, known map[string]int) string {
	best, bestDist := "", 3
	for name := range known {
		if d := editDistance(k, name); d < bestDist || d == bestDist && name < best {
			best, bestDist = name, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
