package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDemo runs `make demo`'s script end to end so it cannot rot: mock API,
// terraform apply through dev_overrides, daemon, receivers, retries.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("the demo runs terraform and four processes; skipped with -short")
	}
	tf := os.Getenv("TF_ACC_TERRAFORM_PATH")
	if tf == "" {
		for _, name := range []string{"terraform", "tofu"} {
			if p, err := exec.LookPath(name); err == nil {
				tf = p
				break
			}
		}
	}
	if tf == "" {
		t.Fatal("no terraform CLI: put terraform on PATH, set TF_ACC_TERRAFORM_PATH, or run through `make test` (it builds OpenTofu when none exists)")
	}
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
