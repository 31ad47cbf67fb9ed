package config

import (
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

// floatKeys lists every float key of Config ("section.field").
func floatKeys() []string {
	var out []string
	var walk func(path string, rt reflect.Type)
	walk = func(path string, rt reflect.Type) {
		for i := range rt.NumField() {
			f := rt.Field(i)
			key := join(path, tomlName(f))
			switch f.Type.Kind() {
			case reflect.Struct:
				walk(key, f.Type)
			case reflect.Slice:
				if f.Type.Elem().Kind() == reflect.Struct {
					walk(key+"[]", f.Type.Elem())
				}
			case reflect.Float64:
				out = append(out, key)
			}
		}
	}
	walk("", reflect.TypeFor[Config]())
	return out
}

// Every float must be finite and in its range, from the file and from the
// environment: NaN compares false with every bound.
func TestFloatsMustBeFiniteAndInRange(t *testing.T) {
	keys := floatKeys()
	if len(keys) < 3 {
		t.Fatalf("float keys: %v", keys)
	}
	dir := t.TempDir()
	for _, key := range keys {
		section, field, ok := strings.Cut(key, ".")
		if !ok || strings.Contains(field, ".") {
			t.Fatalf("%s: the test writes two-level keys only", key)
		}
		for _, v := range []struct{ toml, env string }{
			{"nan", "NaN"}, {"+nan", "nan"}, {"-nan", "NAN"}, {"inf", "Inf"}, {"+inf", "+Inf"}, {"-inf", "-Inf"}, {"-1.0", "-1"},
		} {
			path := writeFile(t, dir, "f.toml", "# float\n["+section+"]\n"+field+" = "+v.toml+"\n")
			_, err := Load(path, nil)
			if err == nil {
				t.Errorf("file %s = %s: accepted", key, v.toml)
			} else {
				checkProblems(t, problemsOf(t, err), []want{{path, 3, key, "must be"}})
			}
			name := EnvName(key)
			_, err = Load("", []string{name + "=" + v.env})
			if err == nil {
				t.Errorf("env %s=%s: accepted", name, v.env)
			} else {
				checkProblems(t, problemsOf(t, err), []want{{"env " + name, 0, key, "must be"}})
			}
		}
	}
}

// Every float field has both bounds: an unbounded float could be infinite.
func TestFloatsHaveBothBounds(t *testing.T) {
	for _, key := range floatKeys() {
		section, field, _ := strings.Cut(key, ".")
		sf, ok := sectionField(section, field)
		if !ok {
			t.Fatalf("%s: field not found", key)
		}
		lo, hi, err := parseRange(sf.Tag.Get("range"))
		if err != nil || lo == nil || hi == nil {
			t.Errorf("%s: range tag %q needs both bounds", key, sf.Tag.Get("range"))
		}
	}
}

func sectionField(section, field string) (reflect.StructField, bool) {
	ct := reflect.TypeFor[Config]()
	for i := range ct.NumField() {
		if tomlName(ct.Field(i)) != section {
			continue
		}
		st := ct.Field(i).Type
		for j := range st.NumField() {
			if tomlName(st.Field(j)) == field {
				return st.Field(j), true
			}
		}
	}
	return reflect.StructField{}, false
}

// nested builds hostile documents: n levels of nesting in one key.
func nested(kind string, n int) string {
	switch kind {
	case "arrays":
		return "x = " + strings.Repeat("[", n) + strings.Repeat("]", n) + "\n"
	case "inline tables":
		return "x = " + strings.Repeat("{x = ", n) + "1" + strings.Repeat("}", n) + "\n"
	case "table header":
		return "# deep\n[" + strings.Repeat("t.", n-1) + "t]\nx = 1\n"
	case "dotted key":
		return strings.Repeat("t.", n-1) + "t = 1\n"
	}
	panic(kind)
}

// Deep nesting is refused before the TOML library sees it (the library
// itself is quadratic on nested inline tables), with the key and line.
func TestDeepNestingIsRefused(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		kind string
		n    int
		key  string
		line int
	}{
		{"arrays", 100_000, "x", 1},
		{"inline tables", 3000, "x", 1},
		{"table header", 3000, "t", 2},
		{"dotted key", 3000, "t", 1},
	} {
		path := writeFile(t, dir, "deep.toml", nested(c.kind, c.n))
		_, err := Load(path, nil)
		if err == nil {
			t.Errorf("%s: %d levels accepted", c.kind, c.n)
			continue
		}
		checkProblems(t, problemsOf(t, err), []want{{path, c.line, c.key, "nested deeper than"}})
	}
	// Nesting up to the limit is fine (the keys are then merely unknown).
	path := writeFile(t, dir, "ok.toml", nested("arrays", maxDepth-1)+nested("inline tables", maxDepth-1))
	if _, err := Load(path, nil); err != nil && strings.Contains(err.Error(), "nested deeper") {
		t.Errorf("%d levels refused: %v", maxDepth-1, err)
	}
}

// A file larger than MaxFileSize is refused after reading at most one byte
// more, even an endless one.
func TestOversizedFileIsRefused(t *testing.T) {
	dir := t.TempDir()
	big := writeFile(t, dir, "big.toml", "# padding\n"+strings.Repeat("#\n", MaxFileSize/2))
	zero := filepath.Join(dir, "zero.toml")
	if err := os.Symlink("/dev/zero", zero); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{big, zero} {
		_, err := Load(path, nil)
		if err == nil {
			t.Fatalf("%s accepted", path)
		}
		checkProblems(t, problemsOf(t, err), []want{{path, 0, "", "larger than 1 MiB"}})
	}
}

// Locating keys is linear: a long key over many array elements must not
// cost the key's length per element. The bound is on allocated bytes,
// a multiple of the file size, not on time.
func TestKeyLinesMemoryIsLinear(t *testing.T) {
	key := strings.Repeat("k", 200_000)
	doc := key + " = [" + strings.Repeat("0,", 150_000) + "]\n"
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	keyLines(doc)
	runtime.ReadMemStats(&after)
	if used := after.TotalAlloc - before.TotalAlloc; used > 64*uint64(len(doc)) {
		t.Fatalf("keyLines allocated %d MB for a %d KB document", used>>20, len(doc)>>10)
	}
}

func BenchmarkLoadHostile(b *testing.B) {
	dir := b.TempDir()
	for _, kind := range []string{"arrays", "inline tables", "table header"} {
		path := filepath.Join(dir, "h.toml")
		if err := os.WriteFile(path, []byte(nested(kind, 3000)), 0o600); err != nil {
			b.Fatal(err)
		}
		b.Run(kind, func(b *testing.B) {
			for b.Loop() {
				Load(path, nil)
			}
		})
	}
}

// Things that validate but are certainly mistakes: each names its key and line.
func TestHostileValues(t *testing.T) {
	dir := t.TempDir()
	log := func(url string) string {
		return "[[ct_log.custom_logs]]\nname = \"" + url + "\"\nurl = \"" + url + "\"\nkind = \"rfc6962\"\n"
	}
	cases := []struct {
		name string
		doc  string
		want []want
	}{
		{"same log with and without a trailing slash",
			log("https://a.example/log") + log("https://a.example/log/"),
			[]want{{"", 7, "ct_log.custom_logs[1].url", "same log as ct_log.custom_logs[0].url"}}},
		{"same log, host case differs",
			log("https://A.example/log/") + log("https://a.example/log/"),
			[]want{{"", 7, "ct_log.custom_logs[1].url", "same log as ct_log.custom_logs[0].url"}}},
		{"credentials in a log URL",
			log("https://user:secret@a.example/log/"),
			[]want{{"", 3, "ct_log.custom_logs[0].url", "must not contain credentials"}}},
		{"credentials in the log list URL",
			"[ct_log]\nlog_list_url = \"https://u:p@list.example/\"\n",
			[]want{{"", 2, "ct_log.log_list_url", "must not contain credentials"}}},
		{"admin token equal to a client token",
			"[auth]\nenabled = true\ntokens = [\"a\", \"same\"]\n[admin]\nenabled = true\ntoken = \"same\"\n",
			[]want{{"", 6, "admin.token", "must differ from every auth.tokens"}}},
		{"state file is a directory",
			"[ct_log]\nstate_file = \"/\"\n",
			[]want{{"", 2, "ct_log.state_file", "is a directory"}}},
	}
	for _, route := range []string{"/", "/full-stream", "/domains-only", "/sse", "/health", "/health/deep",
		"/api/stats", "/api/logs", "/api/cert/x", "/example.json", "/admin", "/admin/actors"} {
		cases = append(cases, struct {
			name string
			doc  string
			want []want
		}{"metrics.path " + route, "[metrics]\npath = \"" + route + "\"\n",
			[]want{{"", 2, "metrics.path", "route"}}})
	}
	for _, c := range cases {
		path := writeFile(t, dir, "v.toml", c.doc)
		_, err := Load(path, nil)
		if err == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		for i := range c.want {
			c.want[i].file = path
		}
		t.Run(c.name, func(t *testing.T) { checkProblems(t, problemsOf(t, err), c.want) })
	}
}
