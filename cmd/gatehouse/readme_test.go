package main

import (
	"os"
	"strings"
	"testing"
)

// shellWords splits a command line as sh would for the README's simple
// commands: single and double quotes, no expansions.
func shellWords(line string) []string {
	var words []string
	var cur strings.Builder
	inWord, quote := false, rune(0)
	for _, r := range line {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

// Every `go run ./cmd/gatehouse …` command in the README's "Try SSO
// locally" names a command and flags this binary has, so a newcomer
// copying them gets as far as the database, never "unknown flag".
func TestReadmeTrySSOCommandsParse(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	start := strings.Index(readme, "## Try SSO locally")
	if start < 0 {
		t.Fatal("README has no \"Try SSO locally\" section")
	}
	section := strings.ReplaceAll(readme[start:], "\\\n", " ")
	n := 0
	for _, line := range strings.Split(section, "\n") {
		line = strings.TrimSpace(line)
		_, cmdline, ok := strings.Cut(line, "go run ./cmd/gatehouse ")
		if !ok || strings.HasPrefix(line, "`") {
			continue
		}
		cmdline = strings.TrimSuffix(strings.TrimSpace(cmdline), "&")
		args := shellWords(cmdline)
		resetFlags(rootCmd)
		cmd, rest, err := rootCmd.Find(args)
		if err != nil || cmd == rootCmd || cmd.RunE == nil {
			t.Errorf("README command %q: no such command (%v)", cmdline, err)
			continue
		}
		if err := cmd.ParseFlags(rest); err != nil {
			t.Errorf("README command %q: %v", cmdline, err)
			continue
		}
		if len(cmd.Flags().Args()) > 0 {
			t.Errorf("README command %q: unexpected arguments %q", cmdline, cmd.Flags().Args())
		}
		n++
	}
	resetFlags(rootCmd)
	if n < 10 {
		t.Errorf("found %d commands in the README's Try SSO locally, want every step's", n)
	}
}
