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

func TestScheduleRetryAfter(t *testing.T) {
	s := Schedule{5 * time.Second, 5 * time.Minute, 30 * time.Minute}
	within := func(d, want time.Duration) bool { return d >= want*4/5 && d <= want*6/5 }
	for _, tc := range []struct {
		name       string
		failures   int
		ra         time.Duration
		want       time.Duration // ±20% when the schedule decides
		wantCapped bool
	}{
		{"shorter than the schedule: the schedule", 1, time.Second, 5 * time.Second, false},
		{"longer than the delay: Retry-After", 1, 10 * time.Minute, 10 * time.Minute, false},
		{"past the schedule's end: capped at what is left", 1, 100 * time.Hour, 35*time.Minute + 5*time.Second, true},
		{"later in the schedule", 3, time.Hour, 30 * time.Minute, true},
		{"second failure, short Retry-After", 2, 30 * time.Second, 5 * time.Minute, false},
	} {
		got, capped := s.RetryAfter(tc.failures, tc.ra)
		if capped != tc.wantCapped || !within(got, tc.want) {
			t.Errorf("%s: RetryAfter(%d, %s) = %s, capped %v; want about %s, capped %v", tc.name, tc.failures, tc.ra, got, capped, tc.want, tc.wantCapped)
		}
	}
	if got := s.Remaining(2); got != 35*time.Minute {
		t.Errorf("Remaining(2) = %s, want 35m", got)
	}
	if got := s.Remaining(4); got != 0 {
		t.Errorf("Remaining past the end = %s, want 0", got)
	}
}
