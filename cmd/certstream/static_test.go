package main

import (
	"debug/buildinfo"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestStaticBuildAsInTheDockerfile runs the build the Dockerfile runs
// (scripts/build-static.sh) and checks its binary: statically linked,
// built without cgo and local paths, the version and commit stamped. The
// build compiles every dependency anew (-trimpath), minutes on a cold cache:
// it runs when STATIC_BUILD_CHECK=1 (make static-check).
func TestStaticBuildAsInTheDockerfile(t *testing.T) {
	dockerfile, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(dockerfile), "RUN scripts/build-static.sh ") {
		t.Fatal("the Dockerfile no longer builds with scripts/build-static.sh; this test checks that build")
	}
	if os.Getenv("STATIC_BUILD_CHECK") != "1" {
		t.Skip("set STATIC_BUILD_CHECK=1 to run the container's build (make static-check)")
	}
	out := filepath.Join(t.TempDir(), "certstream")
	cmd := exec.Command("sh", "scripts/build-static.sh", out, "v9.8.7-test", "0123abc")
	cmd.Dir = "../.."
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, b)
	}
	f, err := elf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary asks for a dynamic loader: not static")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("the binary needs shared libraries %v", libs)
	}
	bi, err := buildinfo.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	if settings["CGO_ENABLED"] != "0" || settings["-trimpath"] != "true" {
		t.Errorf("want CGO_ENABLED=0 and -trimpath, got %v", settings)
	}
	b, err := exec.Command(out, "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	want := "certstream v9.8.7-test (commit 0123abc, " + runtime.Version()
	if !strings.HasPrefix(string(b), want) {
		t.Errorf("version: %q, want %q…", b, want)
	}
}
