package daemon

import (
	"context"
	"io"
	"log/slog"

	"github.com/hashicorp/go-hclog"

	"github.com/chatwoot-tf/terraform-provider-chatwoot/internal/lograte"
)

func newLogger(cfg Config, out io.Writer) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{
		Name:       "daemon",
		Level:      hclog.LevelFromString(cfg.LogLevel),
		Output:     out,
		JSONFormat: cfg.LogFormat == "json",
	})
}

// slogHandler sends River's slog records to hclog, so the daemon has one
// log stream in one format. Warnings and errors of one message are written
// at most once per lograte.DefaultEvery: River retries its fetch every few
// milliseconds while the store is down, and logs each failure.
type slogHandler struct {
	log   hclog.Logger
	min   hclog.Level
	attrs []any
	group string
	rate  *lograte.Limiter
}

// newSlog returns a slog.Logger writing to log, dropping records below min.
func newSlog(log hclog.Logger, min hclog.Level) *slog.Logger {
	return slog.New(&slogHandler{log: log, min: min, rate: lograte.New(lograte.DefaultEvery, nil)})
}

func (h *slogHandler) Enabled(_ context.Context, l slog.Level) bool {
	return max(h.log.GetLevel(), h.min) <= hclogLevel(l)
}

func (h *slogHandler) Handle(_ context.Context, r slog.Record) error {
	args := append([]any(nil), h.attrs...)
	r.Attrs(func(a slog.Attr) bool {
		args = append(args, h.key(a.Key), a.Value.Resolve().Any())
		return true
	})
	level := hclogLevel(r.Level)
	if level >= hclog.Warn {
		ok, held := h.rate.Allow(r.Message)
		if !ok {
			return nil
		}
		if held > 0 {
			args = append(args, "repeated", held, "repeated_within", lograte.DefaultEvery.String())
		}
	}
	h.log.Log(level, r.Message, args...)
	return nil
}

func (h *slogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	n := *h
	n.attrs = append([]any(nil), h.attrs...)
	for _, a := range attrs {
		n.attrs = append(n.attrs, h.key(a.Key), a.Value.Resolve().Any())
	}
	return &n
}

func (h *slogHandler) WithGroup(name string) slog.Handler {
	n := *h
	n.group = h.key(name)
	return &n
}

func (h *slogHandler) key(k string) string {
	if h.group == "" {
		return k
	}
	return h.group + "." + k
}

func hclogLevel(l slog.Level) hclog.Level {
	switch {
	case l < slog.LevelInfo:
		return hclog.Debug
	case l < slog.LevelWarn:
		return hclog.Info
	case l < slog.LevelError:
		return hclog.Warn
	default:
		return hclog.Error
	}
}

// chatwootLogger adapts hclog to chatwoot.Logger (which never passes the token).
type chatwootLogger struct{ log hclog.Logger }

func (c chatwootLogger) Debug(_ context.Context, msg string, kv ...any) { c.log.Debug(msg, kv...) }

func (c chatwootLogger) Warn(_ context.Context, msg string, kv ...any) { c.log.Warn(msg, kv...) }
