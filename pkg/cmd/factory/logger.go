package factory

import (
	"fmt"
	"io"
	"log/slog"
)

// Logger is the text logger to errOut of a command that runs until stopped
// (micro-gw dev, ssf-receiver), at the level its --log-level names (DEBUG,
// INFO, WARN or ERROR).
func Logger(errOut io.Writer, logLevel string) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	return slog.New(slog.NewTextHandler(errOut, &slog.HandlerOptions{Level: level})), nil
}
