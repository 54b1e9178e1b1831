package runtime

import (
	"context"
	"io"
	"log/slog"
	"strings"
)

// LevelTrace is the TRACE level of [log] level and -e b7a.log.level=TRACE:
// below DEBUG, for per-request detail.
const LevelTrace = slog.LevelDebug - 4

// ParseLevel maps the configured level name to a slog level; an unknown or
// empty name is INFO.
func ParseLevel(name string) slog.Level {
	switch strings.ToUpper(strings.TrimSpace(name)) {
	case "TRACE", "ALL":
		return LevelTrace
	case "DEBUG":
		return slog.LevelDebug
	case "WARN", "WARNING":
		return slog.LevelWarn
	case "ERROR", "OFF":
		return slog.LevelError
	default:
		return slog.LevelInfo
	}
}

// NewLogger returns the gateway's text logger at the named level, printing
// LevelTrace as TRACE.
func NewLogger(w io.Writer, level string) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{
		Level: ParseLevel(level),
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.LevelKey {
				if l, ok := a.Value.Any().(slog.Level); ok && l <= LevelTrace {
					a.Value = slog.StringValue("TRACE")
				}
			}
			return a
		},
	}))
}

// trace logs at LevelTrace.
func trace(ctx context.Context, l *slog.Logger, msg string, args ...any) {
	l.Log(ctx, LevelTrace, msg, args...)
}
