package runtime

import (
	"io"
	"log/slog"

	"github.com/micro-gw/micro-gw/pkg/runtime/config"
)

// NewLogger returns the gateway's text logger at level, printing
// config.LevelTrace (below DEBUG) as TRACE.
func NewLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.LevelKey {
				if l, ok := a.Value.Any().(slog.Level); ok && l <= config.LevelTrace {
					a.Value = slog.StringValue("TRACE")
				}
			}
			return a
		},
	}))
}
