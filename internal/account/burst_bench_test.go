package account_test

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/account"
	gmail "github.com/gatehouse-id/gatehouse/internal/mail"
	"github.com/gatehouse-id/gatehouse/internal/reqctx"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

// burstSize is how many sign-ins arrive at once.
const burstSize = 200

// BenchmarkSignInBurst sends 200 password sign-ins at once, each from its
// own address for its own email, and reports the memory the process
// needed: the peak of the Go runtime's mapped memory during the burst
// above what it held before (runtime/metrics, sampled every millisecond)
// and the peak resident set size of the burst (Linux; VmHWM, reset before
// the burst). "bounded" is the service as configured by default (one
// argon2id run per CPU); "unbounded" gives every request a slot, which is
// how sign-ins ran before hashing was bounded. The wait for a slot is long
// enough that every attempt is checked, so the figures are the worst case.
// Everything runs in-process on SQLite; nothing listens on the network.
func BenchmarkSignInBurst(b *testing.B) {
	for _, bc := range []struct {
		name  string
		slots int
	}{{"bounded", 0}, {"unbounded", burstSize}} {
		b.Run(bc.name, func(b *testing.B) {
			st := sqltest.NewSQLite(b)
			accounts := account.New(st, &gmail.Outbox{Dir: b.TempDir()}, account.Config{
				PublicURL: publicURL,
				Hashing:   account.HashingConfig{MaxConcurrent: bc.slots, Wait: time.Minute},
			}, slog.New(slog.DiscardHandler), nil)
			ctx := reqctx.With(context.Background(), reqctx.Info{IP: testIP})
			// The dummy hash is made on first use; not part of the burst.
			if _, err := accounts.Authenticate(ctx, account.PasswordAttempt{Email: "warm@acme.example", Password: "x", IP: "2001:db8:ffff::1"}); err == nil {
				b.Fatal("unknown email signed in")
			}
			var peakHeap, peakRSS, total float64
			iter := 0
			for b.Loop() {
				b.StopTimer()
				runtime.GC()
				debug.FreeOSMemory()
				before := goMapped()
				resetPeakRSS()
				stop := make(chan struct{})
				sampled := make(chan uint64)
				go func() {
					peak := before
					t := time.NewTicker(time.Millisecond)
					defer t.Stop()
					for {
						select {
						case <-stop:
							sampled <- max(peak, goMapped())
							return
						case <-t.C:
							peak = max(peak, goMapped())
						}
					}
				}()
				b.StartTimer()

				var wg sync.WaitGroup
				start := make(chan struct{})
				for i := range burstSize {
					wg.Go(func() {
						<-start
						// Unknown emails cost a full (dummy) verification,
						// like a real account's, and each has its own counter.
						_, err := accounts.Authenticate(ctx, account.PasswordAttempt{
							Email: fmt.Sprintf("burst%d-%d@acme.example", iter, i), Password: "a wrong password",
							IP: fmt.Sprintf("2001:db8:%x:%x::1", iter, i),
						})
						if err != account.ErrBadCredentials {
							b.Errorf("burst sign-in %d: %v", i, err)
						}
					})
				}
				close(start)
				wg.Wait()

				b.StopTimer()
				close(stop)
				heap := float64(<-sampled-before) / (1 << 20)
				peakHeap = max(peakHeap, heap)
				peakRSS = max(peakRSS, peakRSSMiB())
				total += burstSize
				iter++
				b.StartTimer()
			}
			b.ReportMetric(peakHeap, "peak-go-MiB")
			if peakRSS > 0 {
				b.ReportMetric(peakRSS, "peak-RSS-MiB")
			}
			b.ReportMetric(total/b.Elapsed().Seconds(), "sign-ins/s")
			b.ReportMetric(0, "ns/op") // a burst's duration is not the figure of interest
		})
	}
}

// goMapped is all memory the Go runtime has mapped from the OS.
func goMapped() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// resetPeakRSS restarts the kernel's peak-RSS mark (Linux 4.0+); elsewhere
// peakRSSMiB reports the process's lifetime peak or nothing.
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSSMiB is VmHWM from /proc/self/status, or 0 where there is none.
func peakRSSMiB() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			if err != nil {
				return 0
			}
			return kb / 1024
		}
	}
	return 0
}
