package account

import "time"

// HashRuns returns how many argon2id runs (verifications, dummy
// verifications, new hashes) s has admitted: the count of passwords an
// attacker got checked.
func (s *Service) HashRuns() int64 { return s.hashes.runs.Load() }

// HoldHashSlots takes every hashing slot of s, as a burst of sign-ins in
// progress would, until the returned function is called.
func (s *Service) HoldHashSlots() (release func()) {
	for range cap(s.hashes.slots) {
		s.hashes.slots <- struct{}{}
	}
	return func() {
		for range cap(s.hashes.slots) {
			<-s.hashes.slots
		}
	}
}

// DeviceID and IssueDevice expose the device cookie codec to the fuzzer.
func (s *Service) DeviceID(cookie, email string, now time.Time) string {
	return s.deviceID(cookie, email, now)
}

func (s *Service) IssueDevice(email string, now time.Time) (string, error) {
	return s.issueDevice(email, now)
}
