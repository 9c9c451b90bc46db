package main

import (
	"strconv"
	"strings"
	"time"

	"github.com/alecthomas/kong"
)

// seconds is a length of time given as plain seconds ("8", "2.5") or as a
// Go duration ("90s", "1m30s"): people say "--seconds 8", scripts written
// against the old flag say "8s".
type seconds time.Duration

// parseSeconds reads s as seconds or a duration; it must be positive.
func parseSeconds(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	var d time.Duration
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if f > float64(24*time.Hour/time.Second) {
			return 0, catalogueError{"seconds.more_than_a_day", []any{"Value", strconv.Quote(s)}}
		}
		d = time.Duration(f * float64(time.Second))
	} else if d, err = time.ParseDuration(s); err != nil {
		return 0, catalogueError{"seconds.bad", []any{"Value", strconv.Quote(s)}}
	}
	if d <= 0 {
		return 0, catalogueError{"seconds.not_positive", []any{"Value", strconv.Quote(s)}}
	}
	return d, nil
}

// Decode implements kong.MapperValue.
func (s *seconds) Decode(ctx *kong.DecodeContext) error {
	var raw string
	if err := ctx.Scan.PopValueInto("seconds", &raw); err != nil {
		return err
	}
	d, err := parseSeconds(raw)
	if err != nil {
		return err
	}
	*s = seconds(d)
	return nil
}
