package store

import (
	"encoding/json"
	"fmt"
	"os"
	"time"
)

// A holder note sits beside an open vault so that a second process, refused
// by bbolt's file lock, can say who holds the vault instead of hanging.

type holder struct {
	PID     int       `json:"pid"`
	Host    string    `json:"host"`
	Program string    `json:"program"`
	Since   time.Time `json:"since"`
}

func holderPath(vault string) string { return vault + ".holder" }

func writeHolder(vault, program string) {
	host, _ := os.Hostname()
	if program == "" {
		program = "fieldcase"
	}
	b, _ := json.Marshal(holder{PID: os.Getpid(), Host: host, Program: program, Since: time.Now().UTC()})
	// Best effort: the note only improves an error message.
	_ = os.WriteFile(holderPath(vault), b, 0o600)
}

func removeHolder(vault string) {
	b, err := os.ReadFile(holderPath(vault))
	if err != nil {
		return
	}
	var h holder
	if json.Unmarshal(b, &h) == nil && h.PID == os.Getpid() {
		os.Remove(holderPath(vault))
	}
}

func describeHolder(vault string) string {
	b, err := os.ReadFile(holderPath(vault))
	if err != nil {
		return ""
	}
	var h holder
	if json.Unmarshal(b, &h) != nil || h.PID == 0 {
		return ""
	}
	return fmt.Sprintf(" (%s, pid %d on %s, since %s)", h.Program, h.PID, h.Host, h.Since.Local().Format("15:04 2 Jan"))
}
