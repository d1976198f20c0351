package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// terraformCLI finds the CLI the tests use: TF_ACC_TERRAFORM_PATH, else
// terraform or tofu on PATH.
func terraformCLI(t *testing.T) string {
	t.Helper()
	if tf := os.Getenv("TF_ACC_TERRAFORM_PATH"); tf != "" {
		return tf
	}
	for _, name := range []string{"terraform", "tofu"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no terraform CLI: put terraform on PATH, set TF_ACC_TERRAFORM_PATH, or run through `make test` (it builds OpenTofu when none exists)")
	return ""
}

// TestInstallFromFilesystemMirror follows the README's install path before
// the provider is published: `make install-mirror`, then `terraform init`
// of the README's configuration finds the build with no registry and no
// CLI configuration, and validate accepts the configuration.
func TestInstallFromFilesystemMirror(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the provider and runs terraform init; skipped with -short")
	}
	tf := terraformCLI(t)
	home := t.TempDir()
	if out, err := exec.Command("bash", ".ci/install-mirror.sh", filepath.Join(home, ".terraform.d", "plugins")).CombinedOutput(); err != nil {
		t.Fatalf("install-mirror: %v\n%s", err, out)
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	// The README's first terraform block is the infra repo's configuration.
	text := string(readme)
	start := strings.Index(text, "```terraform\n")
	end := strings.Index(text[start+13:], "```")
	if start < 0 || end < 0 {
		t.Fatal("no terraform block in README.md")
	}
	work := t.TempDir()
	if err := os.WriteFile(filepath.Join(work, "main.tf"), []byte(text[start+13:start+13+end]), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{"HOME=" + home, "PATH=" + os.Getenv("PATH"), "CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1"}
	for _, args := range [][]string{{"init", "-input=false", "-no-color"}, {"validate", "-no-color"}} {
		cmd := exec.Command(tf, args...)
		cmd.Dir, cmd.Env = work, env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", filepath.Base(tf), args[0], err, out)
		}
		t.Logf("%s %s:\n%s", filepath.Base(tf), args[0], out)
	}
}

// TestDemo runs `make demo`'s script end to end so it cannot rot: mock API,
// terraform apply through dev_overrides, daemon, receivers, retries.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("the demo runs terraform and four processes; skipped with -short")
	}
	tf := terraformCLI(t)
	bin := filepath.Join(t.TempDir(), "terraform-provider-chatwoot")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command("bash", "examples/demo/demo.sh")
	cmd.Env = append(os.Environ(), "BIN="+bin, "TF_BIN="+tf)
	out, err := cmd.CombinedOutput()
	t.Logf("demo output:\n%s", out)
	if err != nil {
		t.Fatalf("demo failed: %v", err)
	}
	text := string(out)
	for _, want := range []string{
		"Plan: 2 to add, 0 to change, 0 to destroy.", "+ relay         = true",
		"content_type=input_select", "content_type=form", "content_type=cards",
		"audit receiver (not subscribed to message_created): 0 deliveries",
		"direct consumer: 1 failed attempt by Chatwoot, event lost",
		"relayed consumer: 2 failed attempts, then delivered under Chatwoot's delivery id",
		"DEMO OK",
		"[teardown] processes stopped",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	if n := strings.Count(text, "signature verified account="); n < 5 {
		t.Errorf("demo showed %d verified deliveries, want at least 5", n)
	}
}

func TestQuietSDKLogs(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		off  bool
	}{
		{"nobody logs", map[string]string{"PATH": "/bin"}, true},
		{"empty TF_LOG is unset", map[string]string{"TF_LOG": ""}, true},
		{"TF_LOG", map[string]string{"TF_LOG": "TRACE"}, false},
		{"provider logs only", map[string]string{"TF_LOG_PROVIDER": "DEBUG"}, false},
		{"acceptance log file", map[string]string{"TF_ACC_LOG_PATH": "/tmp/x.log"}, false},
		{"an SDK level chosen", map[string]string{"TF_LOG_SDK_PROTO": "trace"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := map[string]string{}
			quietSDKLogs(func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok },
				func(k, v string) error { set[k] = v; return nil })
			if tt.off != (len(set) == 3 && set["TF_LOG_SDK"] == "off" && set["TF_LOG_SDK_PROTO"] == "off" && set["TF_LOG_SDK_FRAMEWORK"] == "off") || (!tt.off && len(set) != 0) {
				t.Fatalf("set %v, want SDK logs off: %v", set, tt.off)
			}
		})
	}
}
