package delivery

import (
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"
)

func TestParseSchedule(t *testing.T) {
	tests := []struct {
		in      string
		want    Schedule
		wantErr string
	}{
		{in: DefaultSchedule, want: Schedule{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour}},
		{in: "100ms, 100ms,100ms", want: Schedule{100 * time.Millisecond, 100 * time.Millisecond, 100 * time.Millisecond}},
		{in: "none", want: Schedule{}},
		{in: "", wantErr: "empty"},
		{in: "5s,,5m", wantErr: `entry 2 ""`},
		{in: "5s,soon", wantErr: `entry 2 "soon"`},
		{in: "0s", wantErr: "positive"},
		{in: "-5s", wantErr: "positive"},
		{in: strings.Repeat("1s,", 100) + "1s", wantErr: "at most 100"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseSchedule(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseSchedule(%q) error = %v, want one containing %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.String() != tt.want.String() || got.MaxAttempts() != len(tt.want)+1 {
				t.Fatalf("ParseSchedule(%q) = %v (%d attempts), want %v", tt.in, got, got.MaxAttempts(), tt.want)
			}
		})
	}
}

func TestScheduleDelayJitterBounds(t *testing.T) {
	s, _ := ParseSchedule(DefaultSchedule)
	for failures := 1; failures <= 9; failures++ {
		base := s[min(failures, len(s))-1]
		lo, hi := time.Duration(float64(base)*(1-Jitter)), time.Duration(float64(base)*(1+Jitter))
		var sawLow, sawHigh bool
		for range 2000 {
			d := s.Delay(failures)
			if d < lo || d > hi {
				t.Fatalf("Delay(%d) = %s, outside [%s, %s]", failures, d, lo, hi)
			}
			sawLow = sawLow || d < base-time.Duration(float64(base)*Jitter/2)
			sawHigh = sawHigh || d > base+time.Duration(float64(base)*Jitter/2)
		}
		if !sawLow || !sawHigh {
			t.Fatalf("Delay(%d) never used the outer halves of the jitter range (low %v, high %v)", failures, sawLow, sawHigh)
		}
	}
}

func TestRetryPolicyCountsErrorsNotSnoozes(t *testing.T) {
	p := &RetryPolicy{Schedule: Schedule{time.Second, time.Hour}}
	// Two recorded errors: the second retry's delay (1h), whatever the attempt counter says.
	job := &rivertype.JobRow{Attempt: 7, Errors: []rivertype.AttemptError{{}}}
	got := time.Until(p.NextRetry(job))
	if got < 48*time.Minute || got > 72*time.Minute {
		t.Fatalf("NextRetry after 2 failures = %s from now, want 1h ±20%%", got)
	}
}
