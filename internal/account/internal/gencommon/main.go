// Command gencommon writes commonpasswords.txt from zxcvbn's password frequency list (github.com/trustelem/zxcvbn, MIT, © 2018 Vincent Vanackere and Trustelem).
//
// The list is ranked by frequency; the first -n entries are lowercased
// (the account package matches case-insensitively), deduplicated keeping the
// first occurrence, and written one per line. Run through go generate in
// internal/account, so the shipped binary never imports zxcvbn.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/trustelem/zxcvbn/frequency"
)

func main() {
	n := flag.Int("n", 10000, "how many of the most frequent passwords to take")
	out := flag.String("o", "commonpasswords.txt", "output file")
	flag.Parse()
	if err := run(*n, *out); err != nil {
		fmt.Fprintln(os.Stderr, "gencommon:", err)
		os.Exit(1)
	}
}

func run(n int, out string) error {
	list := frequency.FrequencyLists["passwords"]
	if len(list) < n {
		return fmt.Errorf("zxcvbn's password list has %d entries, fewer than the %d asked for", len(list), n)
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	seen := make(map[string]bool, n)
	for _, pw := range list[:n] {
		pw = strings.ToLower(strings.TrimSpace(pw))
		if pw == "" || seen[pw] {
			continue
		}
		seen[pw] = true
		fmt.Fprintln(w, pw)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
