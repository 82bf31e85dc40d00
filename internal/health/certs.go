package health

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// CertThresholds are the days before a signing certificate's expiry at
// which admins are mailed, most distant first.
var CertThresholds = []int{30, 7, 1}

// CheckCertificates mails admins when a trusted signing certificate of a
// connection is within 30, 7 or 1 days of its expiry: once per certificate
// and threshold, recorded before sending so that neither a restart nor a
// second node sends it again. A certificate found already inside several
// thresholds gets only the nearest one's notice.
func (s *Service) CheckCertificates(ctx context.Context, now time.Time) error {
	conns, err := s.store.ListIdPConnections(ctx, "")
	if err != nil {
		return fmt.Errorf("health: list connections: %w", err)
	}
	var errs []error
	for _, conn := range conns {
		for _, p := range conn.SigningCertsPEM {
			cert, fp, ok := parseCert(p)
			if !ok {
				continue
			}
			left := cert.NotAfter.Sub(now)
			if left <= 0 {
				continue // expired: the connection page says so; no countdown left
			}
			days := 0
			for _, t := range CertThresholds {
				if left <= time.Duration(t)*24*time.Hour {
					days = t
				}
			}
			if days == 0 {
				continue
			}
			if err := s.certNotice(ctx, conn, cert, fp, days, now); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

func (s *Service) certNotice(ctx context.Context, conn storage.IdPConnection, cert *x509.Certificate, fp string, days int, now time.Time) error {
	err := s.store.InTx(ctx, func(tx storage.Store) error {
		if err := tx.RecordSSOCertNotice(ctx, storage.SSOCertNotice{ConnectionID: conn.ID, Fingerprint: fp, Days: days, SentAt: now}); err != nil {
			return err
		}
		return record(ctx, tx, now, storage.AuditEvent{
			OrgID: conn.OrgID, Action: "sso.certificate_expiry_notice", TargetType: "idp_connection", TargetID: conn.ID,
			Details: map[string]string{"connection": conn.Slug, "fingerprint": fp, "days": fmt.Sprint(days),
				"not_after": cert.NotAfter.UTC().Format(time.RFC3339)},
		})
	})
	if errors.Is(err, storage.ErrConflict) {
		return nil // sent already
	}
	if err != nil {
		return fmt.Errorf("health: record certificate notice for %s: %w", conn.Slug, err)
	}
	s.notify.Send(ctx, conn.OrgID, fmt.Sprintf("SSO certificate of %s expires in %s", conn.Name, dayWord(days)),
		fmt.Sprintf("A signing certificate trusted for single sign-on through %s expires on %s.\n\n"+
			"Certificate: %s\nSHA-256 fingerprint: %s\n\n"+
			"After that date sign-ins signed with it are refused. Add the identity provider's new certificate to the connection "+
			"(or refresh its metadata) before then.\n%s",
			conn.Name, cert.NotAfter.UTC().Format(time.RFC1123), cert.Subject.String(), fp, s.consoleLink(conn)))
	return nil
}

func dayWord(days int) string {
	if days == 1 {
		return "1 day"
	}
	return fmt.Sprintf("%d days", days)
}

// parseCert reads one PEM certificate and its hex SHA-256 fingerprint.
func parseCert(p string) (*x509.Certificate, string, bool) {
	block, _ := pem.Decode([]byte(p))
	if block == nil {
		return nil, "", false
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, "", false
	}
	sum := sha256.Sum256(cert.Raw)
	return cert, hex.EncodeToString(sum[:]), true
}
