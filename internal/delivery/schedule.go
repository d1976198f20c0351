package delivery

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/riverqueue/river/rivertype"
)

// DefaultSchedule is Svix's: retries 5s, 5m, 30m, 2h, 5h, 10h and 10h after
// the first attempt, so a delivery is dead about 27.6 hours after it failed
// first.
const DefaultSchedule = "5s,5m,30m,2h,5h,10h,10h"

// Jitter is the ± fraction applied to every scheduled delay, so that
// deliveries that failed together do not all retry in the same instant.
const Jitter = 0.2

// Schedule is the delay before each retry: Schedule[0] after the first
// failed attempt, and so on. A delivery gets len(Schedule)+1 attempts.
type Schedule []time.Duration

// ParseSchedule reads comma-separated durations such as "5s,5m,30m".
// "none" means no retries.
func ParseSchedule(s string) (Schedule, error) {
	s = strings.TrimSpace(s)
	if s == "none" {
		return Schedule{}, nil
	}
	if s == "" {
		return nil, errors.New(`retry schedule is empty: give comma-separated durations like "5s,5m,30m", or "none" for no retries`)
	}
	parts := strings.Split(s, ",")
	if len(parts) > 100 {
		return nil, fmt.Errorf("retry schedule has %d retries; at most 100 are allowed", len(parts))
	}
	out := make(Schedule, 0, len(parts))
	for i, p := range parts {
		d, err := time.ParseDuration(strings.TrimSpace(p))
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("retry schedule entry %d %q is not a positive duration like 5s, 5m or 2h", i+1, strings.TrimSpace(p))
		}
		out = append(out, d)
	}
	return out, nil
}

// String formats the schedule the way ParseSchedule reads it.
func (s Schedule) String() string {
	if len(s) == 0 {
		return "none"
	}
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = d.String()
	}
	return strings.Join(parts, ",")
}

// MaxAttempts is the number of attempts a delivery gets: the first plus one
// per retry.
func (s Schedule) MaxAttempts() int { return len(s) + 1 }

// Delay returns the jittered delay before the retry that follows failure
// number failures (1 for the first failed attempt). Past the end of the
// schedule (a dead delivery replayed by hand) the last delay repeats.
func (s Schedule) Delay(failures int) time.Duration {
	if len(s) == 0 {
		return jitter(time.Minute) // only reached by a delivery replayed by hand
	}
	base := s[min(max(failures, 1), len(s))-1]
	return jitter(base)
}

// Remaining is the sum of the delays the schedule has left after failure
// number failures: how long, from now, until the delivery is dead.
func (s Schedule) Remaining(failures int) time.Duration {
	var sum time.Duration
	for _, d := range s[min(max(failures, 1), len(s)+1)-1:] {
		sum += d
	}
	return sum
}

// RetryAfter is the delay before the retry that follows failure number
// failures when the endpoint answered Retry-After ra: at least the
// schedule's delay, at least ra — never sooner than the schedule says —
// but no later than the schedule's Remaining, so that an endpoint cannot
// postpone a delivery past the schedule's end (capped reports that it
// tried).
func (s Schedule) RetryAfter(failures int, ra time.Duration) (delay time.Duration, capped bool) {
	delay = s.Delay(failures)
	if rest := s.Remaining(failures); len(s) > 0 && ra > rest {
		ra, capped = rest, true
	}
	return max(delay, ra), capped
}

func jitter(d time.Duration) time.Duration {
	f := 1 + Jitter*(2*rand.Float64()-1)
	return time.Duration(float64(d) * f)
}

// RetryPolicy is a river.ClientRetryPolicy that follows a Schedule. It is
// used when the worker has no Retry-After to honour, and by River's rescuer
// for deliveries whose daemon died mid-attempt.
type RetryPolicy struct {
	Schedule Schedule
}

// NextRetry counts failures from the job's recorded errors, which snoozes
// (rate limits, a busy endpoint) do not add to. The Worker sets the time of
// each attempt it made itself (Worker.NextRetry), from the delivery's
// attempt count in the store; this policy serves the jobs River rescued
// after their daemon died, and batches that failed to record.
func (p *RetryPolicy) NextRetry(job *rivertype.JobRow) time.Time {
	return time.Now().Add(p.Schedule.Delay(len(job.Errors) + 1))
}
