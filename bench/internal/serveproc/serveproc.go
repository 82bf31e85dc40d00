// Package serveproc builds the gatehouse binary and runs `gatehouse serve`
// as a separate process on a free loopback port with a fresh data
// directory, for the benchmarks that measure the real server (its CPU time
// or its memory) from outside.
package serveproc

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Server is a running `gatehouse serve`.
type Server struct {
	// Base is the public URL (http://localhost:PORT), DataDir its data
	// directory and DatabaseURL the database it uses ("" for SQLite in
	// DataDir).
	Base, DataDir, DatabaseURL string
	cmd                        *exec.Cmd
	dir                        string
}

// Start builds ./cmd/gatehouse (run from the repository root) into a
// temporary directory and starts `serve` on a free loopback port with
// databaseURL ("" for SQLite in a fresh data directory) and the extra
// environment env, returning once /readyz answers 200.
func Start(databaseURL string, env ...string) (*Server, error) {
	dir, err := os.MkdirTemp("", "gatehouse-bench-")
	if err != nil {
		return nil, err
	}
	bin := filepath.Join(dir, "gatehouse")
	build := exec.Command("go", "build", "-o", bin, "./cmd/gatehouse")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("build: %w", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	s := &Server{Base: "http://localhost:" + strings.Split(addr, ":")[1], DataDir: filepath.Join(dir, "data"),
		DatabaseURL: databaseURL, dir: dir}
	s.cmd = exec.Command(bin, "serve")
	s.cmd.Env = append(append(os.Environ(), "GATEHOUSE_DATA_DIR="+s.DataDir, "GATEHOUSE_LISTEN="+addr,
		"GATEHOUSE_PUBLIC_URL="+s.Base, "GATEHOUSE_DATABASE_URL="+databaseURL), env...)
	if err := s.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start serve: %w", err)
	}
	if err := waitReady(s.Base + "/readyz"); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// Pid is the server process's ID.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// Stop kills the server and removes its binary and data directory.
func (s *Server) Stop() {
	_ = s.cmd.Process.Kill()
	_, _ = s.cmd.Process.Wait()
	os.RemoveAll(s.dir)
}

func waitReady(u string) error {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if res, err := http.Get(u); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s did not answer 200 within a minute", u)
}
