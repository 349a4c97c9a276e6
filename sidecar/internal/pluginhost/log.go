package pluginhost

import (
	"context"
	"io"
	"log"
	"log/slog"

	hclog "github.com/hashicorp/go-hclog"
)

// slogLogger is the hclog.Logger go-plugin writes to, over the sidecar's
// structured log. go-plugin re-logs every JSON line a plugin writes to its
// stderr through it, with the plugin's own level and fields; every entry gets
// adapter=<configured adapter name> (not "plugin": go-plugin uses that key
// for the executable's path). go-plugin names its sub-loggers after the
// executable ("trustly-sidecar" for every built-in adapter), which says
// nothing, so Named keeps the adapter's name instead.
type slogLogger struct {
	l     *slog.Logger
	level hclog.Level
	args  []any
}

var _ hclog.Logger = (*slogLogger)(nil)

func newSlogLogger(l *slog.Logger, plugin string) *slogLogger {
	return &slogLogger{l: l.With("adapter", plugin), level: hclog.Trace}
}

// hclog's trace has no slog level; it sits below debug.
const levelTrace = slog.LevelDebug - 4

func slogLevel(l hclog.Level) slog.Level {
	switch l {
	case hclog.Trace:
		return levelTrace
	case hclog.Debug:
		return slog.LevelDebug
	case hclog.Warn:
		return slog.LevelWarn
	case hclog.Error:
		return slog.LevelError
	}
	return slog.LevelInfo
}

func (s *slogLogger) Log(level hclog.Level, msg string, args ...any) {
	if level == hclog.Off || level < s.level {
		return
	}
	s.l.Log(context.Background(), slogLevel(level), msg, append(append([]any(nil), s.args...), args...)...)
}

func (s *slogLogger) Trace(msg string, args ...any) { s.Log(hclog.Trace, msg, args...) }
func (s *slogLogger) Debug(msg string, args ...any) { s.Log(hclog.Debug, msg, args...) }
func (s *slogLogger) Info(msg string, args ...any)  { s.Log(hclog.Info, msg, args...) }
func (s *slogLogger) Warn(msg string, args ...any)  { s.Log(hclog.Warn, msg, args...) }
func (s *slogLogger) Error(msg string, args ...any) { s.Log(hclog.Error, msg, args...) }

func (s *slogLogger) enabled(l hclog.Level) bool {
	return l >= s.level && s.l.Enabled(context.Background(), slogLevel(l))
}

func (s *slogLogger) IsTrace() bool { return s.enabled(hclog.Trace) }
func (s *slogLogger) IsDebug() bool { return s.enabled(hclog.Debug) }
func (s *slogLogger) IsInfo() bool  { return s.enabled(hclog.Info) }
func (s *slogLogger) IsWarn() bool  { return s.enabled(hclog.Warn) }
func (s *slogLogger) IsError() bool { return s.enabled(hclog.Error) }

func (s *slogLogger) ImpliedArgs() []any { return s.args }

func (s *slogLogger) With(args ...any) hclog.Logger {
	c := *s
	c.args = append(append([]any(nil), s.args...), args...)
	return &c
}

func (s *slogLogger) Name() string                                          { return "" }
func (s *slogLogger) Named(string) hclog.Logger                             { return s }
func (s *slogLogger) ResetNamed(string) hclog.Logger                        { return s }
func (s *slogLogger) SetLevel(level hclog.Level)                            { s.level = level }
func (s *slogLogger) GetLevel() hclog.Level                                 { return s.level }
func (s *slogLogger) StandardWriter(*hclog.StandardLoggerOptions) io.Writer { return s.writer() }
func (s *slogLogger) StandardLogger(*hclog.StandardLoggerOptions) *log.Logger {
	return log.New(s.writer(), "", 0)
}

func (s *slogLogger) writer() io.Writer { return slogWriter{s} }

// slogWriter turns unstructured lines (a plugin that prints instead of
// logging) into info entries.
type slogWriter struct{ s *slogLogger }

func (w slogWriter) Write(p []byte) (int, error) {
	w.s.Info(string(trimNewline(p)))
	return len(p), nil
}

func trimNewline(p []byte) []byte {
	for len(p) > 0 && (p[len(p)-1] == '\n' || p[len(p)-1] == '\r') {
		p = p[:len(p)-1]
	}
	return p
}
